import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { hasUnfinishedTasks } from '../db/run-claims.repository.js';
import { insertRun, type NewTask } from '../db/runs.repository.js';
import { callBatches } from '../services/embeddings/embed.task.js';
import { embeddingsModule } from '../services/embeddings/embeddings.job.js';
import { embeddingText, textHash } from '../services/embeddings/embedding-text.js';
import { chooseEmbedding, EMBED_TASK_KIND, loadVectors, planEmbedTasks, type EmbeddingMethod } from '../services/embeddings/embeddings.service.js';
import { loadConfig } from '../src/config.js';
import { fakeEmbedding } from '../src/fake-llm/embeddings.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { newId } from '../src/ids.js';
import { createLlmClient } from '../src/llm/llm.client.js';
import { LlmError } from '../src/llm/llm.errors.js';
import { loadProviders } from '../src/llm/providers.js';
import { emptyUsage } from '../src/llm/usage.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { runRow, tasksOf } from './support/queue-db.js';

const MODEL = 'text-embedding-3-small';
const PRICE = 0.02;

/** Two names for the fake's one OpenAI endpoint (one with a trailing slash), an Anthropic provider, and an OpenAI provider without an embedding model. */
function providersFile(fake: FakeLlm): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-embed-'));
  const path = join(dir, 'providers.yaml');
  writeFileSync(
    path,
    `providers:
  emb-a: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: fake-gpt-4o-mini, embedding_model: ${MODEL}, embedding_pricing: { input_per_mtok: ${PRICE} }, max_retries: 2 }
  emb-b: { kind: openai, base_url: "${fake.openaiBaseUrl}/", model: fake-gpt-4o-mini, embedding_model: ${MODEL} }
  emb-fast: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: fake-gpt-4o-mini, embedding_model: ${MODEL}, timeout_ms: 300, max_retries: 0 }
  plain: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: fake-gpt-4o-mini }
  claude: { kind: anthropic, base_url: "${fake.anthropicBaseUrl}", model: fake-claude-sonnet }
`,
  );
  return path;
}

/** 300 questions on distinct subjects; records 20..39 repeat the texts of 0..19 (same task range, so each text is asked for once). */
const qa = (i: number) => {
  const j = i >= 20 && i < 40 ? i - 20 : i;
  return { question: `What does component ${j} of subsystem alpha${j} do?`, answer: `It handles duty ${j}.` };
};
const RECORDS = Array.from({ length: 300 }, (_, i) => qa(i));
const DISTINCT = new Set(RECORDS.map((r) => textHash(embeddingText(r)))).size;

describe('choosing an embedding method', () => {
  const registry = (env: Record<string, string>) => loadProviders(loadConfig({ OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k', ...env }));

  it('falls back to lexical vectors when nothing names an embedding model, and says why', () => {
    const method = chooseEmbedding({ providers: registry({}) }, undefined);
    expect(method).toMatchObject({ kind: 'lexical', method: 'hashed-char-ngrams-tfidf' });
    expect(method.kind === 'lexical' && method.reason).toMatch(/no embedding model is configured/);
    expect(chooseEmbedding({ providers: registry({ EMBEDDING_MODEL: MODEL }) }, 'lexical')).toMatchObject({ kind: 'lexical', reason: expect.stringMatching(/requested/) });
  });

  it('takes EMBEDDING_PROVIDER/EMBEDDING_MODEL as the default', () => {
    const method = chooseEmbedding({ providers: registry({ EMBEDDING_PROVIDER: 'openai', EMBEDDING_MODEL: MODEL }) }, undefined);
    expect(method).toMatchObject({ kind: 'model', provider: 'openai', model: MODEL });
    expect(chooseEmbedding({ providers: registry({ DEFAULT_PROVIDER: 'openai', EMBEDDING_MODEL: MODEL }) }, { dimensions: 64 })).toMatchObject({ provider: 'openai', model: MODEL, dimensions: 64 });
  });

  it('refuses an Anthropic or unknown provider, or one without a model, with a 400 naming the field', () => {
    const providers = registry({});
    const fieldOf = (option: Parameters<typeof chooseEmbedding>[1]) => {
      try {
        chooseEmbedding({ providers }, option);
      } catch (err: any) {
        expect(err.status).toBe(400);
        return err.details[0].field;
      }
      return 'accepted';
    };
    expect(fieldOf({ provider: 'anthropic', model: 'x' })).toBe('embedding.provider');
    expect(fieldOf({ provider: 'nope' })).toBe('embedding.provider');
    expect(fieldOf({ provider: 'openai' })).toBe('embedding.model');
    expect(fieldOf({ provider: 'openai', model: MODEL })).toBe('accepted');
  });

  it('fails the start when EMBEDDING_PROVIDER names an Anthropic provider, an unknown one, or one without a model', () => {
    expect(() => registry({ EMBEDDING_PROVIDER: 'anthropic', EMBEDDING_MODEL: 'x' })).toThrow(/anthropic provider.*OpenAI-compatible/);
    expect(() => registry({ EMBEDDING_PROVIDER: 'nope', EMBEDDING_MODEL: 'x' })).toThrow(/not configured/);
    expect(() => registry({ EMBEDDING_PROVIDER: 'openai' })).toThrow(/EMBEDDING_MODEL/);
    expect(() => registry({ DEFAULT_PROVIDER: 'anthropic', EMBEDDING_MODEL: 'x' })).toThrow(/anthropic provider/);
  });
});

describe('embedding text', () => {
  it('is what the judge reads for pairs and chats, the turns of other chat shapes, and empty for records without text', () => {
    expect(embeddingText({ question: 'Q?', answer: 'A.', id: 7 })).toBe('Question: Q?\nAnswer: A.');
    expect(embeddingText({ question: 'Q?', answer: 'A.', reasoning: ['one', 'two'] })).toBe('Question: Q?\nReasoning:\n1. one\n2. two\nAnswer: A.');
    expect(embeddingText({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })).toBe('USER: hi\nASSISTANT: hello');
    expect(embeddingText({ instruction: 'Translate', input: 'chat', output: 'cat' })).toContain('cat');
    expect(embeddingText({ foo: 1 })).toBe('');
    expect(textHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('embedding calls', () => {
  it('split at 128 inputs and at 200,000 characters, a longer text alone', () => {
    const sizes = (texts: string[]) => callBatches(texts.map((text) => ({ text }))).map((b) => b.length);
    expect(sizes(Array.from({ length: 300 }, () => 'x'))).toEqual([128, 128, 44]);
    expect(sizes(Array.from({ length: 5 }, () => 'y'.repeat(90_000)))).toEqual([2, 2, 1]);
    expect(sizes(['a', 'z'.repeat(250_000), 'b'])).toEqual([1, 1, 1]);
  });
});

describe("the fake teacher's /v1/embeddings, through the OpenAI SDK", () => {
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm();
  });
  afterAll(() => fake?.close());

  it('answers in the OpenAI wire format, float or base64 (the SDK default), for a string or a list, with dimensions, and counts the path', async () => {
    const client = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'k', maxRetries: 0 });
    const floats = await client.embeddings.create({ model: MODEL, input: ['How do task leases work?', 'Banana bread'], encoding_format: 'float' });
    expect(floats).toMatchObject({ object: 'list', model: MODEL, data: [{ object: 'embedding', index: 0 }, { object: 'embedding', index: 1 }] });
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    expect(floats.data[0].embedding).toEqual(fakeEmbedding('How do task leases work?'));
    const decoded = await client.embeddings.create({ model: MODEL, input: 'How do task leases work?', dimensions: 48 });
    expect(decoded.data[0].embedding).toEqual(Array.from(Float32Array.from(fakeEmbedding('How do task leases work?', 48))));
    await expect(client.embeddings.create({ model: MODEL, input: [''] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect(fake.stats().byPath['/v1/embeddings']).toBe(3);
  });
});

describe.each(DATABASES)('embeddings through the real SDK and the fake teacher (%s)', (db) => {
  let h: Harness;
  let fake: FakeLlm;
  let datasetId: string;
  beforeAll(async () => {
    fake = await startFakeLlm();
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: providersFile(fake) } });
    datasetId = await importSet(RECORDS);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const deps = () => ({ database: h.quarry.database, providers: h.quarry.providers });
  const importSet = async (records: unknown[]) => (await request(h.url).post('/v1/datasets').send({ name: 'qa', records }).expect(201)).body.dataset.id as string;
  const embedRequests = () => fake.requests().filter((r) => r.path === '/v1/embeddings');
  const embedCount = () => fake.stats().byPath['/v1/embeddings'] ?? 0;
  const storedFor = async (owner: string) =>
    (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from embeddings where owner = ${owner}`))[0].n;

  /** The tasks as a run of `owner`, run by the harness's worker to the end. */
  async function runTasks(owner: string, tasks: NewTask[]) {
    const id = newId('run');
    await insertRun(h.quarry.database.db, { id, owner, kind: 'embed-test', spec: {}, output: {}, datasets: [], tasks });
    for (let i = 0; i < 600; i++) {
      const row = await runRow(h.quarry.database, id);
      if (row && ['succeeded', 'failed', 'canceled'].includes(row.status)) return { id, ...row };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`run ${id} did not end`);
  }

  it('plans one embed.batch task per 256 records, estimated for a dry run', async () => {
    const method = chooseEmbedding(deps(), { provider: 'emb-a' });
    const tasks = await planEmbedTasks(deps(), 'alice', [datasetId], method, { kind: 'x.finish', payload: { a: 1 } });
    expect(tasks.map((t) => [t.key, t.kind, t.payload.records])).toEqual([
      [`embed/${datasetId}/0`, EMBED_TASK_KIND, 256],
      [`embed/${datasetId}/1`, EMBED_TASK_KIND, 44],
    ]);
    const estimate = embeddingsModule.estimates![EMBED_TASK_KIND];
    expect(tasks.map((t) => estimate(t.payload).calls)).toEqual([2, 1]);
    expect(estimate(tasks[0].payload)).toMatchObject({ provider: 'emb-a', embedding: true, outputTokens: 0 });
    expect(estimate(tasks[0].payload).inputChars).toBeGreaterThan(256 * 40);
    expect(await planEmbedTasks(deps(), 'alice', [datasetId], chooseEmbedding(deps(), 'lexical'))).toEqual([]);
  });

  it('embeds every distinct text once, at most 128 a call, counts usage and cost, and spawns the finisher check', async () => {
    fake.reset();
    const method = chooseEmbedding(deps(), { provider: 'emb-a' });
    const run = await runTasks('alice', await planEmbedTasks(deps(), 'alice', [datasetId], method, { kind: 'x.finish', payload: { a: 1 } }));
    const calls = embedRequests();
    const inputs = calls.flatMap((c: any) => c.body.input as string[]);
    expect(inputs.length).toBe(DISTINCT);
    expect(new Set(inputs).size).toBe(DISTINCT);
    expect(calls.every((c: any) => c.body.input.length <= 128 && c.body.model === MODEL && c.body.encoding_format === 'float' && c.body.dimensions === undefined)).toBe(true);
    expect(await storedFor('alice')).toBe(DISTINCT);
    const tokens = calls.reduce((sum, c: any) => sum + c.response.usage.prompt_tokens, 0);
    expect(run).toMatchObject({ requests: calls.length, input_tokens: tokens, output_tokens: 0 });
    expect(run.cost_usd).toBeCloseTo((tokens * PRICE) / 1e6, 12);
    // The spawned finisher checks have no handler here: they fail, and count as unfinished.
    const spawned = (await tasksOf(h.quarry.database, run.id)).filter((t) => t.key.startsWith('x.finish/'));
    expect(spawned.map((t) => t.key).sort()).toEqual([`x.finish/embed/${datasetId}/0`, `x.finish/embed/${datasetId}/1`]);
    expect(await hasUnfinishedTasks(h.quarry.database.db, run.id, ['x.finish'])).toBe(true);
    expect(await hasUnfinishedTasks(h.quarry.database.db, run.id, [EMBED_TASK_KIND])).toBe(false);
  });

  it('reuses stored vectors on a second pass and across two provider names for one endpoint, but never across owners', async () => {
    const viaA = chooseEmbedding(deps(), { provider: 'emb-a' });
    const viaB = chooseEmbedding(deps(), { provider: 'emb-b' });
    expect(viaB.kind === 'model' && viaA.kind === 'model' && viaB.modelKey === viaA.modelKey).toBe(true);
    const before = embedCount();
    const again = await runTasks('alice', await planEmbedTasks(deps(), 'alice', [datasetId], viaB));
    expect(again).toMatchObject({ status: 'succeeded', requests: 0 });
    expect(embedCount()).toBe(before);
    // Another API key embeds the same texts itself: it never learns what alice embedded.
    const bob = await runTasks('bob', await planEmbedTasks(deps(), 'bob', [datasetId], viaA));
    expect(bob.status).toBe('succeeded');
    expect(embedCount()).toBeGreaterThan(before);
    expect(await storedFor('bob')).toBe(DISTINCT);
  });

  it('passes dimensions through and stores them under their own key', async () => {
    fake.reset();
    const method = chooseEmbedding(deps(), { provider: 'emb-a', dimensions: 64 });
    const small = await importSet(RECORDS.slice(40, 50));
    expect((await runTasks('alice', await planEmbedTasks(deps(), 'alice', [small], method))).status).toBe('succeeded');
    expect(embedRequests().map((c: any) => c.body.dimensions)).toEqual([64]);
    const table = await loadVectors(deps(), 'alice', small, method);
    expect([table.vectors.n, table.vectors.dims]).toEqual([10, 64]);
  });

  it('retries a 429 and succeeds, counting only the answered call', async () => {
    fake.reset();
    fake.configure({ faults: [{ kind: '429', times: 1, retryAfter: 0.05 }] });
    const fresh = await importSet([{ question: 'How are leases renewed under load?', answer: 'By heartbeat.' }]);
    const run = await runTasks('alice', await planEmbedTasks(deps(), 'alice', [fresh], chooseEmbedding(deps(), { provider: 'emb-a' })));
    expect(run).toMatchObject({ status: 'succeeded', requests: 1 });
    expect(fake.stats().faults['429']).toBe(1);
    expect(embedCount()).toBe(2);
  });

  it('the client embeds through the real SDK: order kept, usage priced, errors categorised, Anthropic refused', async () => {
    const llm = createLlmClient({ providers: h.quarry.providers });
    const usage = emptyUsage();
    const signal = new AbortController().signal;
    const texts = ['How do task leases work?', 'What is the best recipe for banana bread?', 'How does a task lease work?'];
    const vectors = await llm.embed({ provider: 'emb-a', model: MODEL, texts, signal, usage });
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(vectors.map((v) => v.length)).toEqual([256, 256, 256]);
    expect(cos(vectors[0], vectors[2])).toBeGreaterThan(0.9);
    expect(Math.abs(cos(vectors[0], vectors[1]))).toBeLessThan(0.3);
    expect(usage.requests).toBe(1);
    expect(usage.cost_usd).toBeCloseTo((usage.input_tokens * PRICE) / 1e6, 12);
    // The schema-only fake changes chat answers, not vectors: they depend on the text alone.
    fake.configure({ schemaOnly: true });
    const again = await llm.embed({ provider: 'emb-b', model: MODEL, texts: texts.slice(0, 1), signal, usage: emptyUsage() });
    fake.configure({ schemaOnly: false });
    expect(Array.from(again[0])).toEqual(Array.from(vectors[0]));
    fake.configure({ faults: [{ kind: '500', times: 10 }] });
    const failure = await llm.embed({ provider: 'emb-a', model: MODEL, texts, signal, usage: emptyUsage() }).catch((e) => e);
    fake.configure({ faults: [] });
    expect(failure).toBeInstanceOf(LlmError);
    expect(failure).toMatchObject({ category: 'api', options: { retryable: true } });
    fake.configure({ faults: [{ kind: 'hang', times: 1 }] });
    const hung = await llm.embed({ provider: 'emb-fast', model: MODEL, texts, signal, usage: emptyUsage() }).catch((e) => e);
    expect(hung).toMatchObject({ category: 'timeout', options: { retryable: true } });
    const refused = await llm.embed({ provider: 'claude', model: 'x', texts, signal, usage: emptyUsage() }).catch((e) => e);
    expect(refused).toMatchObject({ category: 'api', options: { fatal: true } });
  });

  it('loadVectors gives the same rows, vectors and picks in canonical order for the same records in another order', async () => {
    const method = chooseEmbedding(deps(), { provider: 'emb-a' });
    const sample = RECORDS.slice(0, 60);
    const forward = await importSet(sample);
    const backward = await importSet([...sample].reverse());
    const before = embedCount();
    for (const id of [forward, backward]) expect((await runTasks('alice', await planEmbedTasks(deps(), 'alice', [id], method))).status).toBe('succeeded');
    expect(embedCount()).toBe(before); // every text was embedded by alice already
    const pick = (data: Record<string, unknown>) => data.question as string;
    const a = await loadVectors(deps(), 'alice', forward, method, { pick });
    const b = await loadVectors(deps(), 'alice', backward, method, { pick });
    expect(a.rows.length).toBe(60);
    expect(a.rows.map((r) => [r.hash, r.picked])).toEqual(b.rows.map((r) => [r.hash, r.picked]));
    expect(a.rows.map((r) => r.hash)).toEqual(a.rows.map((r) => r.hash).sort());
    expect(Array.from(a.vectors.data)).toEqual(Array.from(b.vectors.data));
    expect(a.vectors.dims).toBe(256);
    for (let i = 0; i < a.vectors.n; i++) {
      const row = a.vectors.data.subarray(i * 256, (i + 1) * 256);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
    // An owner that embedded nothing has no vectors to read: an error, not zero rows.
    await expect(loadVectors(deps(), 'nobody', forward, method)).rejects.toThrow(/no stored/);
  });

  it('the lexical fallback computes vectors when read, in the same canonical order, with its reason', async () => {
    const method: EmbeddingMethod = chooseEmbedding({ providers: loadProviders(loadConfig({ OPENAI_API_KEY: 'k' })) }, undefined);
    expect(method).toMatchObject({ kind: 'lexical', reason: expect.stringMatching(/no embedding model/) });
    const sample = RECORDS.slice(100, 130);
    const [x, y] = [await importSet(sample), await importSet([...sample].reverse())];
    const before = embedCount();
    const a = await loadVectors(deps(), 'alice', x, method);
    const b = await loadVectors(deps(), 'alice', y, method);
    expect(embedCount()).toBe(before);
    expect(a.method).toEqual(method);
    expect([a.vectors.n, a.vectors.dims]).toEqual([30, method.kind === 'lexical' ? method.dims : 0]);
    expect(a.rows.map((r) => r.hash)).toEqual(b.rows.map((r) => r.hash));
    expect(Array.from(a.vectors.data)).toEqual(Array.from(b.vectors.data));
  });
});
