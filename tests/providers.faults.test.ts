import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

/** Two sections (each above min_chunk_size, so each is a chunk); the second carries a marker so a fault can target exactly one task. */
const doc = (marker = 'MARKER') => ({
  name: 'faults.md',
  text:
    `## Calm\n\n${'The calm section explains that retries are cheap and records are precious. '.repeat(3)}\n\n` +
    `## Stormy\n\nThe ${marker} section explains that faults happen and must cost at most a retry. ${'Faults come and go. '.repeat(6)}\n`,
});

describe('teacher faults end as retries or categorised failures', () => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 2 });
    // A provider with tight limits so timeout and unreachable cases finish fast.
    const dir = mkdtempSync(join(tmpdir(), 'quarry-providers-'));
    const providersFile = join(dir, 'providers.yaml');
    writeFileSync(
      providersFile,
      [
        'providers:',
        '  tight:',
        '    kind: openai',
        `    base_url: ${fake.openaiBaseUrl}`,
        '    model: tight-model',
        '    max_retries: 0',
        '    timeout_ms: 300',
        '  dead:',
        '    kind: openai',
        '    base_url: http://127.0.0.1:9/v1',
        '    model: dead-model',
        '    max_retries: 0',
      ].join('\n'),
    );
    h = await startHarness({ db: 'pglite', fakeLlm: fake, env: { PROVIDERS_FILE: providersFile } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const generate = (body: Record<string, unknown>) => request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ documents: [doc()], n_pairs: 2, ...body });

  it('rides out 429 with Retry-After and 500s inside the SDK, losing nothing', async () => {
    fake.configure({ faults: [{ kind: '429', times: 2, retryAfter: 1 }, { kind: '500', times: 1 }] });
    const started = Date.now();
    const res = await generate({}).expect(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded', progress: { done: 2, failed: 0, records: 4 } });
    expect(fake.stats().faults).toMatchObject({ '429': 2, '500': 1 });
    // Retry-After: 1 was honoured, not hammered through.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('feeds a malformed answer back to the teacher and keeps the corrected record', async () => {
    fake.configure({ faults: [{ kind: 'malformed', times: 1, match: 'MARKER' }] });
    const res = await generate({}).expect(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded', progress: { records: 4 }, usage: { requests: 3 } });
    const retried = fake.requests().find((r) => JSON.stringify(r.body).includes('was not valid JSON'));
    expect(retried).toBeDefined();
    const messages = (retried!.body as { messages: Array<{ role: string }> }).messages;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it.each([
    ['malformed', 'json'],
    ['schema', 'schema'],
    ['truncate', 'length'],
    ['refusal', 'refusal'],
  ] as const)('a persistent %s answer fails only its own task, as category %s', async (kind, category) => {
    fake.configure({ faults: [{ kind, match: 'MARKER' }] });
    const res = await generate({ max_attempts: 1 }).expect(200);
    const run = res.body.run;
    expect(run).toMatchObject({ status: 'failed', progress: { done: 1, failed: 1, records: 2 } });
    expect(run.error.message).toContain('1 of 2 tasks failed');
    expect(run.output.report.failures[0]).toMatchObject({ key: 'd0/faults_stormy', error: { category } });
    const sse = await readSse(`${h.url}${run.links.events}`);
    const failed = sse.events.filter((e) => e.type === 'record.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].data).toMatchObject({ task: 'd0/faults_stormy', category });
    // Never an empty or half record: only the healthy chunk's pairs are stored.
    const records = await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records`).expect(200);
    expect(records.body.records.map((r: any) => r.data.chunk_id)).toEqual(['faults_calm', 'faults_calm']);
  });

  it('retry re-runs only the failed task and completes the dataset without duplicates', async () => {
    fake.configure({ faults: [{ kind: 'schema', match: 'MARKER' }] });
    const first = (await generate({ max_attempts: 1 }).expect(200)).body.run;
    expect(first.status).toBe('failed');
    fake.reset();
    const retried = await request(h.url).post(`/v1/runs/${first.id}/retry`).expect(200);
    expect(retried.body.run.status).toMatch(/running|succeeded/);
    const done = await readSse(`${h.url}${first.links.events}?after=${0}`);
    expect(done.events.at(-1)!.type).toBe('run.succeeded');
    expect(done.events.map((e) => e.type)).toContain('run.retried');
    const run = (await request(h.url).get(`/v1/runs/${first.id}`).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { done: 2, failed: 0, records: 4 } });
    const records = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records`).expect(200)).body.records;
    expect(records.map((r: any) => r.key).sort()).toEqual(['d0/faults_calm#0', 'd0/faults_calm#1', 'd0/faults_stormy#0', 'd0/faults_stormy#1']);
    await request(h.url).post(`/v1/runs/${first.id}/retry`).expect(409);
  });

  it('retries a transient failure at the task level with backoff', async () => {
    // The tight provider does no SDK retries, so the 500 reaches the queue, which retries the task.
    fake.configure({ faults: [{ kind: '500', times: 1, match: 'MARKER' }] });
    const res = await generate({ llm: { provider: 'tight' } }).expect(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded', progress: { records: 4 } });
    const sse = await readSse(`${h.url}${res.body.run.links.events}`);
    const retrying = sse.events.filter((e) => e.type === 'task.retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0].data).toMatchObject({ task: 'd0/faults_stormy', attempt: 1, error: { category: 'api' } });
    expect(retrying[0].data.delay_ms).toBeGreaterThanOrEqual(500);
  });

  it('times out a hanging teacher and reports category timeout', async () => {
    fake.configure({ faults: [{ kind: 'hang', match: 'MARKER' }] });
    const res = await generate({ llm: { provider: 'tight' }, max_attempts: 1 }).expect(200);
    expect(res.body.run).toMatchObject({ status: 'failed', progress: { done: 1, failed: 1 } });
    expect(res.body.run.output.report.failures[0].error.category).toBe('timeout');
  });

  it('fails fast when the provider is unreachable, naming it, its URL and how to configure another', async () => {
    const res = await request(h.url)
      .post('/v1/generate')
      .set('Prefer', 'wait=30')
      .send({ documents: [{ name: 'big.md', text: Array.from({ length: 30 }, (_, i) => `## S${i}\n\n${`Body ${i} text here. `.repeat(12)}`).join('\n\n') }], n_pairs: 1, llm: { provider: 'dead' } })
      .expect(200);
    const run = res.body.run;
    expect(run.status).toBe('failed');
    expect(run.error.category).toBe('api');
    expect(run.error.message).toContain('provider "dead"');
    expect(run.error.message).toContain('http://127.0.0.1:9/v1');
    expect(run.error.message).toMatch(/PROVIDERS_FILE|OPENAI_BASE_URL/);
    // It stopped early: most of the 30 tasks were withdrawn, not each tried and failed.
    expect(run.output.report.tasks.canceled).toBeGreaterThan(0);
  });
});
