import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse, readWs } from './support/streams.js';

const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
const SECRETS = ['sk-test-openai-secret', 'sk-ant-test-secret'];
const RUN = `run_${'1'.repeat(24)}`;
const DS = `ds_${'2'.repeat(24)}`;

function expectUnauthorized(res: request.Response) {
  expect(res.status, `${res.status} ${res.text}`).toBe(401);
  expect(res.body.error.code).toBe('unauthorized');
  expect(res.body.error.details).toContainEqual(expect.objectContaining({ field: 'Authorization' }));
}

function expectNoSecret(label: string, body: string) {
  for (const secret of SECRETS) expect(body.includes(secret), `${label} leaks ${secret}`).toBe(false);
}

describe('API keys: who may call, and what', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', env: { API_KEYS: 'key-a,key-b' } });
  });
  afterAll(() => h?.close());

  type Call = [string, string, unknown?];
  const V1: Call[] = [
    ['get', '/v1/runs'],
    ['get', `/v1/runs/${RUN}`],
    ['post', `/v1/runs/${RUN}/cancel`],
    ['post', `/v1/runs/${RUN}/retry`],
    ['get', `/v1/runs/${RUN}/events`],
    ['get', '/v1/datasets'],
    ['get', `/v1/datasets/${DS}`],
    ['get', `/v1/datasets/${DS}/records`],
    ['get', `/v1/datasets/${DS}/export?format=chatml`],
    ['delete', `/v1/datasets/${DS}`],
    ['post', '/v1/generate', { documents: [markdownDoc('x.md', 1)], n_pairs: 1 }],
    ['post', '/v1/datasets', [{ question: 'q', answer: 'a' }]],
  ];
  const call = (method: string, path: string, body?: unknown) => {
    const r = (request(h.url) as unknown as Record<string, (p: string) => request.Test>)[method](path);
    return body === undefined ? r : r.send(body as object);
  };

  it.each(V1)('%s %s without Authorization → 401', async (method, path, body) => {
    expectUnauthorized(await call(method, path, body));
  });

  it.each([
    ['Basic scheme', `Basic ${Buffer.from('key-a:').toString('base64')}`],
    ['Basic scheme with the key as user', `Basic ${Buffer.from('key-a').toString('base64')}`],
    ['wrong key', 'Bearer key-c'],
    ['a prefix of a key', 'Bearer key-'],
    ['both keys at once', 'Bearer key-a,key-b'],
    ['no scheme', 'key-a'],
    ['empty bearer', 'Bearer '],
  ])('%s → 401', async (_label, authorization) => {
    for (const [method, path, body] of V1) expectUnauthorized(await call(method, path, body).set('authorization', authorization));
  });

  it.each([
    ['percent-encoded path', '/%761/runs'],
    ['percent-encoded path to a run', `/%76%31/runs/${RUN}`],
    ['percent-encoded datasets', '/v%31/datasets'],
  ])('cannot skip the key check with a %s (%s)', async (_label, path) => {
    const res = await request(h.url).get(path);
    expect(res.status, `${res.status} ${res.text}`).toBe(401);
  });

  it('does not queue runs for a request that dodged the key check', async () => {
    const res = await request(h.url).post('/%761/generate').send({ documents: [markdownDoc('sneak.md', 1)], n_pairs: 1 });
    expect(res.status, res.text).toBe(401);
  });

  it.each(['/healthz', '/readyz', '/openapi.json', '/metrics'])('%s needs no key', async (path) => {
    await request(h.url).get(path).expect(200);
  });

  it('accepts either configured key, with the scheme in any case', async () => {
    await request(h.url).get('/v1/runs').set(A).expect(200);
    await request(h.url).get('/v1/runs').set(B).expect(200);
    await request(h.url).get('/v1/runs').set('authorization', 'bearer key-a').expect(200);
  });
});

describe.each(DATABASES)('runs and datasets belong to the key that made them (%s)', (db) => {
  let h: Harness;
  let runId: string;
  let generatedId: string;
  let importedId: string;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' } });
    const run = await request(h.url).post('/v1/generate').set(A).set('Prefer', 'wait=20').send({ documents: [markdownDoc('owned.md', 2)], n_pairs: 1 }).expect(200);
    runId = run.body.run.id;
    generatedId = run.body.run.output.dataset_id;
    const imported = await request(h.url).post('/v1/datasets?name=private').set(A).send([{ question: 'q', answer: 'a' }]).expect(201);
    importedId = imported.body.dataset.id;
  });
  afterAll(() => h?.close());

  const runPaths = (): Array<[string, string]> => [
    ['get', `/v1/runs/${runId}`],
    ['post', `/v1/runs/${runId}/cancel`],
    ['post', `/v1/runs/${runId}/retry`],
  ];
  const datasetPaths = (id: string): Array<[string, string]> => [
    ['get', `/v1/datasets/${id}`],
    ['get', `/v1/datasets/${id}/records`],
    ['get', `/v1/datasets/${id}/export?format=chatml`],
    ['get', `/v1/datasets/${id}/export?format=jsonl`],
    ['delete', `/v1/datasets/${id}`],
  ];
  const call = (method: string, path: string) => (request(h.url) as unknown as Record<string, (p: string) => request.Test>)[method](path);

  it('answers 404 to key-b for every route of key-a’s run and datasets', async () => {
    for (const [method, path] of [...runPaths(), ...datasetPaths(generatedId), ...datasetPaths(importedId)]) {
      const res = await call(method, path).set(B);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('answers 404 to key-b on the SSE stream and closes the WebSocket with 4404', async () => {
    const sse = await readSse(`${h.url}/v1/runs/${runId}/events`, B);
    expect(sse.status).toBe(404);
    expect(JSON.parse(sse.body!).error.code).toBe('not_found');
    const ws = await readWs(`${h.url.replace('http', 'ws')}/v1/runs/${runId}/ws`, { headers: B });
    expect(ws.code).toBe(4404);
    expect(ws.events.filter((e) => e.type)).toEqual([]);
  });

  it('leaves key-a’s datasets in place after key-b tried to delete them', async () => {
    await request(h.url).get(`/v1/datasets/${generatedId}`).set(A).expect(200);
    await request(h.url).get(`/v1/datasets/${importedId}`).set(A).expect(200);
  });

  it('lists nothing of key-a’s to key-b, and everything to key-a', async () => {
    expect((await request(h.url).get('/v1/runs').set(B).expect(200)).body.runs).toEqual([]);
    expect((await request(h.url).get('/v1/datasets').set(B).expect(200)).body.datasets).toEqual([]);
    expect((await request(h.url).get('/v1/runs').set(A).expect(200)).body.runs.map((r: { id: string }) => r.id)).toEqual([runId]);
    const mine = (await request(h.url).get('/v1/datasets').set(A).expect(200)).body.datasets.map((d: { id: string }) => d.id);
    expect(mine.sort()).toEqual([generatedId, importedId].sort());
  });

  it('serves key-a its own run, streams and datasets', async () => {
    expect((await request(h.url).get(`/v1/runs/${runId}`).set(A).expect(200)).body.run.status).toBe('succeeded');
    // The run ended: cancel and retry are refused as conflicts, which proves key-a can see it.
    expect((await request(h.url).post(`/v1/runs/${runId}/cancel`).set(A)).status).toBe(409);
    expect((await request(h.url).post(`/v1/runs/${runId}/retry`).set(A)).status).toBe(409);
    const sse = await readSse(`${h.url}/v1/runs/${runId}/events`, A);
    expect(sse.status).toBe(200);
    expect(sse.events.at(-1)!.type).toBe('run.succeeded');
    const ws = await readWs(`${h.url.replace('http', 'ws')}/v1/runs/${runId}/ws`, { headers: A });
    expect(ws.code).toBe(1000);
    expect(ws.events.at(-1)!.type).toBe('run.succeeded');
    for (const [method, path] of datasetPaths(importedId).filter(([m]) => m === 'get')) await call(method, path).set(A).expect(200);
  });

  it('scopes Idempotency-Key per key: key-b reusing key-a’s key gets its own run', async () => {
    const body = { documents: [markdownDoc('idem.md', 1)], n_pairs: 1 };
    const a = await request(h.url).post('/v1/generate').set(A).set('Idempotency-Key', 'shared-key').set('Prefer', 'wait=20').send(body);
    const b = await request(h.url).post('/v1/generate').set(B).set('Idempotency-Key', 'shared-key').set('Prefer', 'wait=20').send(body);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.run.id).not.toBe(a.body.run.id);
    await request(h.url).get(`/v1/runs/${a.body.run.id}`).set(B).expect(404);
    const again = await request(h.url).post('/v1/generate').set(A).set('Idempotency-Key', 'shared-key').send(body);
    expect(again.body.run.id).toBe(a.body.run.id);
  });

  it('keeps key-b’s own dataset delete working (204, then 404)', async () => {
    const mine = await request(h.url).post('/v1/datasets').set(B).send([{ question: 'q', answer: 'a' }]).expect(201);
    await request(h.url).get(`/v1/datasets/${mine.body.dataset.id}`).set(A).expect(404);
    await request(h.url).delete(`/v1/datasets/${mine.body.dataset.id}`).set(B).expect(204);
    await request(h.url).get(`/v1/datasets/${mine.body.dataset.id}`).set(B).expect(404);
  });
});

describe('provider API keys never reach a response', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', env: { API_KEYS: 'key-a' } });
  });
  afterAll(() => h?.close());

  it('leaves them out of runs, lists, datasets, event streams, openapi.json and /metrics', async () => {
    const bodies: Array<[string, string]> = [];
    const ok = await request(h.url).post('/v1/generate').set(A).set('Prefer', 'wait=20').send({ documents: [markdownDoc('s.md', 2)], n_pairs: 1 });
    const anthropic = await request(h.url)
      .post('/v1/generate')
      .set(A)
      .set('Prefer', 'wait=20')
      .send({ documents: [markdownDoc('t.md', 1)], n_pairs: 1, llm: { provider: 'anthropic' } });
    // A run whose teacher answers garbage fails: its error messages are bodies too.
    h.fake.configure({ faults: [{ kind: 'malformed' }] });
    const failed = await request(h.url).post('/v1/generate').set(A).set('Prefer', 'wait=20').send({ documents: [markdownDoc('f.md', 1)], n_pairs: 1, max_attempts: 1 });
    h.fake.configure({ faults: [] });
    expect([ok.status, anthropic.status, failed.status]).toEqual([200, 200, 200]);
    expect(failed.body.run.status).toBe('failed');
    bodies.push(['generate', ok.text], ['generate anthropic', anthropic.text], ['failed run', failed.text]);
    // A bad provider name lists the configured providers in its error.
    bodies.push(['unknown provider error', (await request(h.url).post('/v1/generate').set(A).send({ documents: [markdownDoc('u.md', 1)], llm: { provider: 'x' } })).text]);
    for (const run of [ok, anthropic, failed].map((r) => r.body.run)) {
      bodies.push(['run', (await request(h.url).get(`/v1/runs/${run.id}`).set(A)).text]);
      const events = await fetch(`${h.url}/v1/runs/${run.id}/events`, { headers: A });
      bodies.push(['events', await events.text()]);
      bodies.push(['dataset', (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}`).set(A)).text]);
      bodies.push(['export', (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=jsonl`).set(A)).text]);
    }
    bodies.push(['runs', (await request(h.url).get('/v1/runs').set(A)).text]);
    bodies.push(['datasets', (await request(h.url).get('/v1/datasets').set(A)).text]);
    for (const path of ['/openapi.json', '/metrics', '/readyz', '/healthz']) bodies.push([path, (await request(h.url).get(path)).text]);
    expect(bodies.find(([label]) => label === 'events')![1]).toContain('run.succeeded');
    for (const [label, body] of bodies) expectNoSecret(label, body);
  });
});

describe('loadConfig', () => {
  it('binds to loopback when API_KEYS is unset, whatever HOST says', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0', API_KEYS: '' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0', API_KEYS: ' , ' }).host).toBe('127.0.0.1');
  });

  it('honours HOST once API_KEYS is set, and defaults to all interfaces', () => {
    expect(loadConfig({ API_KEYS: 'k1', HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
    expect(loadConfig({ API_KEYS: 'k1' }).host).toBe('0.0.0.0');
    expect(loadConfig({ API_KEYS: ' k1 , k2 ,' }).apiKeys).toEqual(['k1', 'k2']);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['WORKER_CONCURRENCY', '-1'],
    ['WORKER_CONCURRENCY', '1.5'],
    ['DATABASE_URL', 'mysql://x'],
    ['BODY_LIMIT_BYTES', '10'],
    ['LOG_LEVEL', 'loud'],
    ['OPENAI_BASE_URL', 'ftp://x'],
  ])('rejects %s=%s with a ConfigError naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
  });

  it('never silently truncates a number: PORT=1e3 is port 1000 or an error, never port 1', () => {
    let port: number | undefined;
    try {
      port = loadConfig({ PORT: '1e3' }).port;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return;
    }
    expect(port).toBe(1000);
  });

  it('names every invalid variable at once', () => {
    expect(() => loadConfig({ PORT: 'abc', WORKER_CONCURRENCY: '-1' })).toThrow(/PORT[\s\S]*WORKER_CONCURRENCY|WORKER_CONCURRENCY[\s\S]*PORT/);
  });
});
