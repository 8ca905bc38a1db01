import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { createBatchApi } from '../src/llm/batch-api.js';
import { wireId } from '../src/llm/batch/custom-id.js';
import type { Provider } from '../src/llm/providers.js';

// The fake teacher's batch endpoints in the shapes the real APIs use, read with the raw SDKs.
let fake: FakeLlm;
let openai: OpenAI;
let anthropic: Anthropic;

const chatBody = (text: string, model = 'fake-model') => ({ model, messages: [{ role: 'user', content: text }] });
const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const upload = async (lines: unknown[]) => openai.files.create({ file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'), purpose: 'batch' });
const createBatch = async (lines: unknown[], metadata?: Record<string, string>) =>
  openai.batches.create({ input_file_id: (await upload(lines)).id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata });
const line = (custom_id: string, body: unknown) => ({ custom_id, method: 'POST', url: '/v1/chat/completions', body });
const settled = (id: string) => vi.waitFor(async () => expect(['completed', 'failed', 'expired', 'cancelled']).toContain((await openai.batches.retrieve(id)).status), { timeout: 10_000, interval: 20 });

beforeAll(async () => {
  fake = await startFakeLlm();
  openai = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: 'test', maxRetries: 0 });
});
afterAll(() => fake?.close());
beforeEach(() => {
  fake.reset();
  fake.configure({ batch: { delayMs: 20 } });
});

describe('OpenAI Files and Batch API', () => {
  it('stores an uploaded file and serves it back', async () => {
    const file = await upload([line('a', chatBody('hello'))]);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'in.jsonl', status: 'processed' });
    expect(await openai.files.retrieve(file.id)).toMatchObject({ id: file.id, bytes: file.bytes });
    expect(await (await openai.files.content(file.id)).text()).toBe(jsonl([line('a', chatBody('hello'))]));
  });

  it('validates, runs and completes a batch; output and error files as the real API writes them', async () => {
    fake.configure({ batch: { delayMs: 60_000 } });
    const batch = await createBatch([line('good', chatBody('The lagoon hosts flamingos.')), line('bad', { model: 'fake-model' })], { who: 'test' });
    expect(batch).toMatchObject({ object: 'batch', status: 'validating', endpoint: '/v1/chat/completions', metadata: { who: 'test' }, request_counts: { total: 2, completed: 0, failed: 0 } });
    await vi.waitFor(async () => expect((await openai.batches.retrieve(batch.id)).status).toBe('in_progress'), { timeout: 5_000, interval: 10 });
    fake.configure({ batch: { delayMs: 0 } });
    await settled(batch.id);
    const done = await openai.batches.retrieve(batch.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 1, failed: 1 }, completed_at: expect.any(Number), finalizing_at: expect.any(Number) });
    const output = (await (await openai.files.content(done.output_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(output).toEqual([{ id: expect.stringMatching(/^batch_req_/), custom_id: 'good', response: { status_code: 200, request_id: expect.any(String), body: expect.objectContaining({ object: 'chat.completion' }) }, error: null }]);
    const errors = (await (await openai.files.content(done.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toEqual([{ id: expect.any(String), custom_id: 'bad', response: { status_code: 400, request_id: expect.any(String), body: { error: expect.objectContaining({ type: 'invalid_request_error' }) } }, error: null }]);
    expect(fake.stats().batch).toMatchObject({ created: { openai: 1 }, lines: 2 });
    await expect(openai.batches.cancel(batch.id)).rejects.toMatchObject({ status: 409 });
  });

  it('fails a batch whose input breaks the rules, with the reasons in `errors`', async () => {
    const duplicate = await createBatch([line('a', chatBody('x')), line('a', chatBody('y')), line('c', chatBody('z', 'other-model'))]);
    await settled(duplicate.id);
    const failed = await openai.batches.retrieve(duplicate.id);
    expect(failed).toMatchObject({ status: 'failed', failed_at: expect.any(Number), output_file_id: null });
    expect(failed.errors?.data?.map((e) => e.code).sort()).toEqual(['duplicate_custom_id', 'mixed_model']);
    await expect(openai.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({ status: 404 });
    await expect(openai.batches.create({ input_file_id: (await upload([])).id, endpoint: '/v1/embeddings', completion_window: '24h' })).rejects.toMatchObject({ status: 400 });
  });

  it('batchApi.results of a failed batch fails every line of its input file', async () => {
    const provider: Provider = { name: 'o', kind: 'openai', baseUrl: fake.openaiBaseUrl, apiKey: 't', defaultModel: 'm', maxConcurrency: 2, timeoutMs: 5_000, maxRetries: 0, pricing: { input_per_mtok: 0, output_per_mtok: 0 } };
    const request = { messages: [{ role: 'user' as const, content: 'x' }] };
    const batch = await createBatch([line(wireId('l', 'q1', request), chatBody('x')), line(wireId('l', 'q2', request), chatBody('y', 'other-model'))]);
    await settled(batch.id);
    const api = createBatchApi();
    expect((await api.status(provider, batch.id)).state).toBe('failed');
    const results = await api.results(provider, batch.id);
    expect(results.map((r) => [r.custom_id, r.error?.category])).toEqual([
      ['q1', 'api'],
      ['q2', 'api'],
    ]);
    expect(results[0].error?.message).toContain('same model');
  });

  it('lists batches newest first, paged with after/limit', async () => {
    const made = [];
    for (const n of [1, 2, 3]) made.push((await createBatch([line('a', chatBody(`n${n}`))])).id);
    const firstPage = await openai.batches.list({ limit: 2 });
    expect(firstPage.data.map((b) => b.id)).toEqual([made[2], made[1]]);
    expect(firstPage.hasNextPage()).toBe(true);
    const all: string[] = [];
    for await (const b of openai.batches.list({ limit: 2 })) all.push(b.id);
    expect(all.slice(0, 3)).toEqual([...made].reverse());
  });
});

describe('Anthropic Message Batches', () => {
  const request = (custom_id: string, text: string, extra: Record<string, unknown> = {}) => ({ custom_id, params: { model: 'fake-claude', max_tokens: 256, messages: [{ role: 'user' as const, content: text }], ...extra } });

  it('runs a batch and serves its results from results_url', async () => {
    fake.configure({ batch: { delayMs: 60_000 } });
    // A request the Messages API refuses (no max_tokens) is an errored result, not a refused batch.
    const invalid = { custom_id: 'invalid', params: { model: 'fake-claude', messages: [{ role: 'user', content: 'x' }] } } as unknown as Anthropic.Messages.BatchCreateParams.Request;
    const batch = await anthropic.messages.batches.create({ requests: [request('ok', 'Flamingos visit the lagoon.'), invalid] });
    expect(batch).toMatchObject({ type: 'message_batch', processing_status: 'in_progress', request_counts: { processing: 2, succeeded: 0 }, results_url: null, ended_at: null });
    await expect(anthropic.messages.batches.results(batch.id)).rejects.toThrow(/results_url/);
    fake.configure({ batch: { delayMs: 0 } });
    await vi.waitFor(async () => expect((await anthropic.messages.batches.retrieve(batch.id)).processing_status).toBe('ended'), { timeout: 10_000, interval: 20 });
    const ended = await anthropic.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({ request_counts: { processing: 0, succeeded: 1, errored: 1, canceled: 0, expired: 0 }, results_url: `${fake.url}/v1/messages/batches/${batch.id}/results`, ended_at: expect.any(String) });
    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const r of await anthropic.messages.batches.results(batch.id)) results.push(r);
    const byId = Object.fromEntries(results.map((r) => [r.custom_id, r.result]));
    expect(byId.ok).toMatchObject({ type: 'succeeded', message: { type: 'message', role: 'assistant', content: [{ type: 'text' }] } });
    expect(byId.invalid).toMatchObject({ type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } } });
  });

  it('refuses a batch with a bad or repeated custom_id', async () => {
    await expect(anthropic.messages.batches.create({ requests: [request('has space', 'x')] })).rejects.toMatchObject({ status: 400 });
    await expect(anthropic.messages.batches.create({ requests: [request('a', 'x'), request('a', 'y')] })).rejects.toMatchObject({ status: 400 });
    await expect(anthropic.messages.batches.create({ requests: [] })).rejects.toMatchObject({ status: 400 });
    expect(fake.stats().batch.created.anthropic).toBe(0);
  });

  it('cancels: canceling, then ended with every request canceled', async () => {
    fake.configure({ batch: { delayMs: 60_000 } });
    const batch = await anthropic.messages.batches.create({ requests: [request('a', 'x'), request('b', 'y')] });
    const canceling = await anthropic.messages.batches.cancel(batch.id);
    expect(canceling).toMatchObject({ processing_status: 'canceling', cancel_initiated_at: expect.any(String) });
    await vi.waitFor(async () => expect((await anthropic.messages.batches.retrieve(batch.id)).processing_status).toBe('ended'), { timeout: 10_000, interval: 20 });
    expect((await anthropic.messages.batches.retrieve(batch.id)).request_counts).toMatchObject({ canceled: 2, succeeded: 0 });
  });

  it('lists batches newest first, paged', async () => {
    const made = [];
    for (const n of [1, 2, 3]) made.push((await anthropic.messages.batches.create({ requests: [request('a', `n${n}`)] })).id);
    const page = await anthropic.messages.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual([made[2], made[1]]);
    const all: string[] = [];
    for await (const b of anthropic.messages.batches.list({ limit: 2 })) all.push(b.id);
    expect(all.slice(0, 3)).toEqual([...made].reverse());
  });
});

describe('the batch knob', () => {
  it('is set through /_fake/config and checked', async () => {
    const ok = await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ batch: { delayMs: 5 } }) });
    expect(await ok.json()).toMatchObject({ batch: { delayMs: 5 } });
    const bad = await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: JSON.stringify({ batch: { delayMs: -1 } }) });
    expect(bad.status).toBe(400);
  });
});
