import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { anthropicAdapter, anthropicParams } from '../src/llm/anthropic.adapter.js';
import { wireId } from '../src/llm/batch/custom-id.js';
import { checkLine, createBatchApi, lineBytes, type BatchApi, type BatchLine, type BatchLineResult, type BatchState } from '../src/llm/batch-api.js';
import { LlmError } from '../src/llm/llm.errors.js';
import { openaiAdapter, openaiBody } from '../src/llm/openai.adapter.js';
import type { Provider } from '../src/llm/providers.js';
import type { TeacherRequest, TeacherResponse } from '../src/llm/teacher-request.js';

// A distinctive word shows the answer is drawn from the prompt (and not, in schema-only mode).
const PASSAGE = 'The Quokkavian archipelago exports saffron and copper. Quokkavian lagoons host flamingos every spring.';

/** Wire-form schemas (closed, every key required), as ResolvedCall.request carries them. */
const QA = {
  type: 'object',
  additionalProperties: false,
  required: ['question', 'answer', 'level'],
  properties: { question: { type: 'string' }, answer: { type: 'string' }, level: { type: 'string', enum: ['easy', 'hard'] } },
};
const LOOKUP = { name: 'lookup', description: 'Look a term up.', parameters: { type: 'object', additionalProperties: false, required: ['term'], properties: { term: { type: 'string' } } } };

const user = (text: string) => [{ role: 'user' as const, content: text }];

/** One of each kind of call: a structured answer, a forced tool call, tools with an answer schema, plain text, a tool result turn. */
const REQUESTS: Record<string, TeacherRequest> = {
  structured: { system: 'You write question/answer pairs.', messages: user(PASSAGE), response: { name: 'qa', schema: QA } },
  tool: { messages: user(`Look up a term of: ${PASSAGE}`), tools: [LOOKUP], tool_choice: 'required' },
  toolsAndAnswer: { messages: user(`Answer about: ${PASSAGE}`), tools: [LOOKUP], tool_choice: 'auto', response: { name: 'qa', schema: QA } },
  text: { messages: user(`Summarise: ${PASSAGE}`), max_tokens: 200 },
  afterTool: {
    messages: [
      ...user(`Use the tool, then answer: ${PASSAGE}`),
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', name: 'lookup', arguments: { term: 'saffron' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'A spice.' },
    ],
    tools: [LOOKUP],
    response: { name: 'qa', schema: QA },
  },
};

const lines = (requests: Record<string, TeacherRequest>, model = 'fake-model'): BatchLine[] => Object.entries(requests).map(([custom_id, request]) => ({ custom_id, model, request }));

/** Provider-made ids differ per call (tool call ids); everything else must be the same. */
const comparable = (r: TeacherResponse | undefined) => r && { ...r, via: undefined, tool_calls: r.tool_calls.map((c) => ({ ...c, id: '' })) };
const byId = (results: BatchLineResult[]) => Object.fromEntries(results.map((r) => [r.custom_id, r]));

describe.each(['openai', 'anthropic'] as const)('%s batch API through the real SDK', (kind) => {
  let fake: FakeLlm;
  let provider: Provider;
  let api: BatchApi;
  const online = (request: TeacherRequest) => {
    const adapter = kind === 'openai' ? openaiAdapter(provider) : anthropicAdapter(provider);
    return adapter({ provider, model: 'fake-model', request, cache: 'off', mode: 'online' }, new AbortController().signal);
  };
  const waitFor = (id: string, state: BatchState) => vi.waitFor(async () => expect((await api.status(provider, id)).state).toBe(state), { timeout: 10_000, interval: 20 });

  beforeAll(async () => {
    fake = await startFakeLlm();
    const baseUrl = kind === 'openai' ? fake.openaiBaseUrl : fake.anthropicBaseUrl;
    provider = { name: `fake-${kind}`, kind, baseUrl, apiKey: 'test', defaultModel: 'fake-model', maxConcurrency: 4, timeoutMs: 10_000, maxRetries: 0, pricing: { input_per_mtok: 0, output_per_mtok: 0 } };
    api = createBatchApi();
  });
  afterAll(() => fake?.close());
  beforeEach(() => {
    fake.reset();
    fake.configure({ schemaOnly: false, batch: { delayMs: 20 } });
  });

  it('submits, stays in progress while held, ends, and answers every line as the online endpoint does', async () => {
    const expected = Object.fromEntries(await Promise.all(Object.entries(REQUESTS).map(async ([id, r]) => [id, await online(r)] as const)));
    fake.reset();
    fake.configure({ batch: { delayMs: 60_000 } });
    const { providerBatchId } = await api.submit(provider, lines(REQUESTS), 'local-main');
    const held = await api.status(provider, providerBatchId);
    expect(held).toMatchObject({ state: 'in_progress', counts: { total: 5, succeeded: 0 } });
    expect(held.ended_at).toBeUndefined();

    fake.configure({ batch: { delayMs: 0 } });
    await waitFor(providerBatchId, 'ended');
    const status = await api.status(provider, providerBatchId);
    expect(status.counts).toEqual({ total: 5, succeeded: 5, errored: 0, canceled: 0, expired: 0 });
    expect(Date.parse(status.ended_at!)).toBeGreaterThan(0);

    const results = byId(await api.results(provider, providerBatchId));
    expect(Object.keys(results).sort()).toEqual(Object.keys(REQUESTS).sort());
    for (const id of Object.keys(REQUESTS)) {
      expect(results[id].error).toBeUndefined();
      expect(results[id].response?.via).toBe('batch');
      expect(comparable(results[id].response), id).toEqual(comparable(expected[id]));
    }
    // The shapes that matter, not only equality with the online answer.
    expect(results.structured.response?.parsed).toMatchObject({ question: expect.any(String), level: expect.stringMatching(/^(easy|hard)$/) });
    expect(results.structured.response?.text).toContain('Quokkavian');
    expect(results.tool.response).toMatchObject({ finish: 'tool_calls', tool_calls: [{ name: 'lookup', arguments: { term: expect.any(String) } }] });
    expect(results.afterTool.response?.parsed).toMatchObject({ answer: expect.any(String) });
    expect(fake.stats().batch).toMatchObject({ created: { [kind]: 1 }, lines: 5 });
    expect(fake.stats().completions).toBe(0);
  });

  it('cancel reaches the provider: the batch ends canceled and every line comes back canceled', async () => {
    fake.configure({ batch: { delayMs: 60_000 } });
    const { providerBatchId } = await api.submit(provider, lines({ a: REQUESTS.text, b: REQUESTS.structured }), 'local-cancel');
    await api.cancel(provider, providerBatchId);
    await waitFor(providerBatchId, 'canceled');
    expect((await api.status(provider, providerBatchId)).counts).toMatchObject({ total: 2, succeeded: 0, canceled: 2 });
    const results = await api.results(provider, providerBatchId);
    expect(results.map((r) => [r.custom_id, r.error?.category]).sort()).toEqual([
      ['a', 'canceled'],
      ['b', 'canceled'],
    ]);
    expect(fake.stats().batch).toMatchObject({ lines: 0, canceled: 1 });
    // Canceling an ended batch is a no-op, not an error.
    await api.cancel(provider, providerBatchId);
  });

  it('find recovers a batch by its local id, and only its own', async () => {
    const since = new Date();
    const first = await api.submit(provider, lines({ x: REQUESTS.text }), 'local-find-a');
    const second = await api.submit(provider, lines({ y: REQUESTS.text }), 'local-find-b');
    await waitFor(first.providerBatchId, 'ended');
    await waitFor(second.providerBatchId, 'ended');
    expect(await api.find(provider, 'local-find-a', since)).toBe(first.providerBatchId);
    expect(await api.find(provider, 'local-find-b', since)).toBe(second.providerBatchId);
    expect(await api.find(provider, 'local-find-never', since)).toBeUndefined();
    // Only batches created after `since` (give or take the clock slack) are candidates.
    expect(await api.find(provider, 'local-find-a', new Date(Date.now() + 3_600_000))).toBeUndefined();
  });

  it('find on a batch still in progress: OpenAI reads its metadata; Anthropic says "not yet" rather than "none"', async () => {
    const since = new Date();
    fake.configure({ batch: { delayMs: 60_000 } });
    const { providerBatchId } = await api.submit(provider, lines({ x: REQUESTS.text }), 'local-find-held');
    if (kind === 'openai') {
      expect(await api.find(provider, 'local-find-held', since)).toBe(providerBatchId);
    } else {
      const err = await api.find(provider, 'local-find-held', since).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LlmError);
      expect(err).toMatchObject({ category: 'api', options: { retryable: true } });
    }
    fake.configure({ batch: { delayMs: 0 } });
    await waitFor(providerBatchId, 'ended');
    expect(await api.find(provider, 'local-find-held', since)).toBe(providerBatchId);
  });

  it('line failures come back per line; the other lines are answered', async () => {
    fake.configure({
      faults: [
        { kind: '500', match: 'MARK-500' },
        { kind: '429', match: 'MARK-429' },
        { kind: 'refusal', match: 'MARK-REFUSE' },
        { kind: 'truncate', match: 'MARK-TRUNCATE' },
      ],
    });
    const ask = (mark: string): TeacherRequest => ({ messages: user(`${mark} ${PASSAGE}`), response: { name: 'qa', schema: QA } });
    const requests = { ok: ask('fine'), e500: ask('MARK-500'), e429: ask('MARK-429'), refused: ask('MARK-REFUSE'), cut: ask('MARK-TRUNCATE') };
    const { providerBatchId } = await api.submit(provider, lines(requests), 'local-faults');
    await waitFor(providerBatchId, 'ended');
    expect((await api.status(provider, providerBatchId)).counts).toMatchObject({ total: 5, succeeded: 3, errored: 2 });
    const results = byId(await api.results(provider, providerBatchId));
    expect(results.ok.response?.parsed).toMatchObject({ level: expect.any(String) });
    expect(results.e500).toMatchObject({ error: { category: 'api', message: expect.stringContaining('500') } });
    expect(results.e429).toMatchObject({ error: { category: 'rate_limit' } });
    expect(results.refused.response).toMatchObject({ finish: 'refusal' });
    expect(results.cut.response).toMatchObject({ finish: 'length' });
    expect(fake.stats().faults).toMatchObject({ '500': 1, '429': 1, refusal: 1, truncate: 1 });
  });

  it('a line that never gets an answer expires; the batch ends expired with the rest answered', async () => {
    fake.configure({ faults: [{ kind: 'hang', match: 'MARK-HANG' }] });
    const { providerBatchId } = await api.submit(provider, lines({ ok: REQUESTS.text, stuck: { messages: user(`MARK-HANG ${PASSAGE}`) } }), 'local-expire');
    await waitFor(providerBatchId, 'expired');
    expect((await api.status(provider, providerBatchId)).counts).toMatchObject({ total: 2, succeeded: 1, expired: 1 });
    const results = byId(await api.results(provider, providerBatchId));
    expect(results.ok.response?.finish).toBe('stop');
    expect(results.stuck.error?.category).toBe('timeout');
  });

  it('schema-only mode applies per line, as online: schema-valid values, nothing echoed from the prompt', async () => {
    // Schema-only answers are random (random values, key order), so they are checked, not compared.
    fake.configure({ schemaOnly: true });
    const { providerBatchId } = await api.submit(provider, lines({ s1: REQUESTS.structured, s2: REQUESTS.afterTool }), 'local-schema-only');
    await waitFor(providerBatchId, 'ended');
    const results = await api.results(provider, providerBatchId);
    expect(results).toHaveLength(2);
    for (const result of results) {
      expect(result.response?.text).not.toContain('Quokkavian');
      expect(Object.keys(result.response?.parsed ?? {}).sort()).toEqual(['answer', 'level', 'question']);
      expect(result.response?.parsed).toMatchObject({ question: expect.any(String), answer: expect.any(String), level: expect.stringMatching(/^(easy|hard)$/) });
    }
  });

  it('lineBytes bounds each line\'s share of the payload from above, as a submitter splitting by bytes needs', () => {
    for (const line of lines(REQUESTS)) {
      const wire = { custom_id: wireId('qb_0123456789abcdef01234567', line.custom_id, line.request) };
      const sent =
        kind === 'openai'
          ? JSON.stringify({ ...wire, method: 'POST', url: '/v1/chat/completions', body: openaiBody(line.model, line.request) })
          : JSON.stringify({ ...wire, params: anthropicParams(line.model, line.request) });
      expect(lineBytes(provider, line), line.custom_id).toBeGreaterThanOrEqual(Buffer.byteLength(sent) + 1);
    }
  });

  it('refuses a batch it cannot send before calling the provider', async () => {
    const refused = (ls: BatchLine[]) => api.submit(provider, ls, 'local-bad').catch((e: unknown) => e);
    expect(await refused([])).toMatchObject({ category: 'api', message: expect.stringContaining('no lines') });
    expect(await refused(lines({ 'bad id!': REQUESTS.text }))).toMatchObject({ message: expect.stringContaining('custom_id') });
    expect(await refused([...lines({ a: REQUESTS.text }), ...lines({ a: REQUESTS.text })])).toMatchObject({ message: expect.stringContaining('twice') });
    if (kind === 'openai') expect(await refused([...lines({ a: REQUESTS.text }), ...lines({ b: REQUESTS.text }, 'other-model')])).toMatchObject({ message: expect.stringContaining('one model') });
    else expect(await refused(lines({ a: { ...REQUESTS.structured, tools: [{ ...LOOKUP, name: 'qa' }] } }))).toMatchObject({ message: expect.stringContaining('like the response schema') });
    expect(fake.stats().batch.created[kind]).toBe(0);
    // The same refusals, per call, for a submitter to fail one call instead of its whole batch.
    expect(checkLine(provider, lines({ 'bad id!': REQUESTS.text })[0])).toBeInstanceOf(LlmError);
    expect(checkLine(provider, lines({ good: REQUESTS.toolsAndAnswer })[0])).toBeUndefined();
  });
});
