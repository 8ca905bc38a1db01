import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchItemStore } from '../db/batch-items.repository.js';
import { rows } from '../db/client.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { batchMode } from '../src/llm/batch.js';
import { createLlmClient } from '../src/llm/llm.client.js';
import { finishedRun, generateSpec, recordsByKey } from './support/batch-runs.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

// `llm.mode: "batch"` end to end: the real openai and Anthropic SDKs submit, poll and read the fake
// teacher's Batch API and Message Batches; the fake answers every line as its online endpoint would.
describe.each(DATABASES)('batch-mode runs through the providers’ batch APIs (%s)', (db) => {
  let h: Harness;
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 2, batch: { delayMs: 100 } });
    // `gemini` (OpenAI-compatible, no Batch API) on the fake's OpenAI endpoint: its batch-mode calls go online.
    h = await startHarness({ db, fakeLlm: fake, env: { BATCH_WINDOW_MS: '1000', BATCH_POLL_MS: '100', GEMINI_BASE_URL: fake.openaiBaseUrl, GEMINI_API_KEY: 'sk-test-gemini' } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it.each(['openai', 'anthropic'])('a batch-mode run through the %s batch API gives the records an online run gives, in one provider batch', async (provider) => {
    const online = (await request(h.url).post('/v1/generate').send(generateSpec(provider, 'online')).expect(202)).body.run;
    const onlineRun = await finishedRun(h, online.id);
    expect(onlineRun.status).toBe('succeeded');

    const before = h.fake.stats();
    const batched = (await request(h.url).post('/v1/generate').send(generateSpec(provider, 'batch')).expect(202)).body.run;
    const batchRun = await finishedRun(h, batched.id);
    const after = h.fake.stats();

    expect(batchRun.status).toBe('succeeded');
    expect(await recordsByKey(h, batchRun.output.dataset_id)).toEqual(await recordsByKey(h, onlineRun.output.dataset_id));
    // Every call went through one provider batch, none online.
    expect(after.batch.created[provider as 'openai' | 'anthropic'] - before.batch.created[provider as 'openai' | 'anthropic']).toBe(1);
    expect(after.completions).toBe(before.completions);
    expect(batchRun.output.batch).toMatchObject({ pending: 0, submitted: 0, done: 4, failed: 0, batches: 1 });
    expect(batchRun.usage).toMatchObject({ requests: 4 });
    expect(batchRun.usage.input_tokens).toBe(onlineRun.usage.input_tokens);

    // Deferrals spend no attempt and fail nothing: each task ran its one charged attempt.
    const attempts = await rows<{ attempts: number; status: string }>(h.quarry.database.db, sql`select attempts, status from tasks where run_id = ${batched.id}`);
    expect(attempts).toHaveLength(4);
    expect(attempts.every((t) => t.attempts === 1 && t.status === 'succeeded')).toBe(true);
    const retried = await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from run_events where run_id = ${batched.id} and type in ('task.retrying', 'record.failed')`);
    expect(retried[0].n).toBe(0);

    const [batch] = await rows<{ state: string; lines: number; provider_batch_id: string }>(
      h.quarry.database.db,
      sql`select b.state, b.lines, b.provider_batch_id from batches b join batch_items i on i.batch_id = b.id where i.run_id = ${batched.id} limit 1`,
    );
    expect(batch).toMatchObject({ state: 'ended', lines: 4, provider_batch_id: expect.any(String) });
  }, 60_000);

  it("with the response cache on (`cache: 'use'`), an identical rerun of a batch-mode run takes no batch", async () => {
    // Texts no other test of the suite asks about, so no earlier answer is there to read.
    const spec = { documents: [markdownDoc('cached.md', 3, 30)], n_pairs: 2, llm: { provider: 'anthropic', mode: 'batch', cache: 'use' } };
    const before = h.fake.stats().batch.created.anthropic;
    const first = await finishedRun(h, (await request(h.url).post('/v1/generate').send(spec).expect(202)).body.run.id);
    expect(first.status).toBe('succeeded');
    expect(h.fake.stats().batch.created.anthropic - before).toBe(1);
    const again = await finishedRun(h, (await request(h.url).post('/v1/generate').send(spec).expect(202)).body.run.id);
    expect(again.status).toBe('succeeded');
    expect(h.fake.stats().batch.created.anthropic - before).toBe(1);
    expect(again.usage).toMatchObject({ requests: 0, cache_hits: 3 });
    expect(await recordsByKey(h, again.output.dataset_id)).toEqual(await recordsByKey(h, first.output.dataset_id));
  }, 60_000);

  it('shows batch counts per provider on /metrics', async () => {
    const text = (await request(h.url).get('/metrics').expect(200)).text;
    expect(text).toMatch(/quarry_llm_batches_total\{provider="openai",event="submitted"\} [1-9]/);
    expect(text).toMatch(/quarry_llm_batches_total\{provider="anthropic",event="ended"\} [1-9]/);
    expect(text).toMatch(/quarry_llm_batch_items_total\{provider="openai",outcome="succeeded"\} [1-9]/);
  });

  it('runs a batch-mode job online on a provider without a batch API', async () => {
    const before = h.fake.stats();
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('gemini', 'batch', 2)).expect(202)).body.run;
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(h.fake.stats().completions - before.completions).toBe(2);
    expect(h.fake.stats().batch.created).toEqual(before.batch.created);
    expect(ended.output.batch).toBeUndefined();
  }, 60_000);

  it('answers a batch-mode call online when no task makes it', async () => {
    const before = h.fake.stats();
    const usage = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
    const llm = createLlmClient({ providers: h.quarry.providers, middleware: [batchMode({ store: batchItemStore(h.quarry.database.db), deferMs: 1000 })] });
    const answer = await llm.complete({
      llm: { provider: 'openai', mode: 'batch', cache: 'off' },
      request: { messages: [{ role: 'user', content: 'Say hello.' }] },
      signal: new AbortController().signal,
      usage,
    });
    expect(answer.response.via).toBeUndefined();
    expect(h.fake.stats().completions).toBe(before.completions + 1);
  });
});
