import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { createLlmClient, type LlmClient } from '../src/llm/llm.client.js';
import { LlmError } from '../src/llm/llm.errors.js';
import { compose, concurrencyLimit, type TeacherCall, type TeacherMiddleware } from '../src/llm/middleware.js';
import type { Provider, ProviderRegistry } from '../src/llm/providers.js';
import type { TeacherMessage, TeacherRequest, TeacherResponse } from '../src/llm/teacher-request.js';
import { emptyUsage } from '../src/llm/usage.js';
import { createMetrics } from '../src/metrics.js';

const Weather = Type.Object({ city: Type.String({ minLength: 1 }), units: Type.Union([Type.Literal('metric'), Type.Literal('imperial')]) });
const Add = Type.Object({ a: Type.Integer({ minimum: 1, maximum: 9 }), b: Type.Integer({ minimum: 1, maximum: 9 }) });
const Answer = Type.Object({ summary: Type.String({ minLength: 1 }), facts: Type.Array(Type.String(), { minItems: 2, maxItems: 2 }) });
const TOOLS = [
  { name: 'weather', description: 'Current weather in a city', parameters: Weather },
  { name: 'add', description: 'Adds two small integers', parameters: Add },
];
const schemaOf: Record<string, TSchema> = { weather: Weather, add: Add };
const PROMPT = 'Plan a picnic in Lisbon. The park opens at nine. Bring two sandwiches each.';

const provider = (name: string, kind: Provider['kind'], baseUrl: string, extra: Partial<Provider> = {}): Provider => ({
  name, kind, baseUrl, apiKey: 'k', defaultModel: `${name}-model`, maxConcurrency: 8, timeoutMs: 10_000, maxRetries: 0,
  pricing: { input_per_mtok: 2, output_per_mtok: 10 }, ...extra,
});
const registry = (providers: Provider[]): ProviderRegistry => ({
  defaultName: providers[0].name,
  get: (name) => providers.find((p) => p.name === (name ?? providers[0].name)),
  list: () => providers,
});

let fake: FakeLlm;
let providers: ProviderRegistry;
beforeAll(async () => {
  fake = await startFakeLlm();
  providers = registry([
    provider('openai', 'openai', fake.openaiBaseUrl),
    provider('anthropic', 'anthropic', fake.anthropicBaseUrl),
    provider('single', 'openai', 'http://127.0.0.1:9', { maxConcurrency: 1 }),
  ]);
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

const signal = () => new AbortController().signal;
/** The body the fake received last; what the SDK put on the wire. */
const lastBody = () => fake.requests().at(-1)!.body as Record<string, any>;

describe.each(['openai', 'anthropic'] as const)('teacher requests with tools (%s)', (kind) => {
  let sut: LlmClient;
  beforeAll(() => {
    sut = createLlmClient({ providers });
  });
  const complete = (request: TeacherRequest, usage = emptyUsage()) => sut.complete({ llm: { provider: kind }, request, signal: signal(), usage });

  it('round-trips: tool calls with schema-valid arguments, tool results back, a final structured answer', async () => {
    fake.configure({ toolCallsPerTurn: 2 });
    const usage = emptyUsage();
    const first = await complete({ system: 'You plan outings.', messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'required', response: { name: 'plan', schema: Answer } }, usage);
    expect(first.response.finish).toBe('tool_calls');
    expect(first.response.tool_calls.map((c) => c.name)).toEqual(['weather', 'add']);
    expect(new Set(first.response.tool_calls.map((c) => c.id)).size).toBe(2);
    for (const call of first.response.tool_calls) expect(Value.Errors(schemaOf[call.name], call.arguments).First()).toBeUndefined();

    const messages: TeacherMessage[] = [
      { role: 'user', content: PROMPT },
      { role: 'assistant', content: first.response.text, tool_calls: first.response.tool_calls },
      ...first.response.tool_calls.map((c, i): TeacherMessage => ({ role: 'tool', tool_call_id: c.id, content: i === 0 ? 'Sunny, 24 degrees.' : '7' })),
    ];
    const final = await complete({ system: 'You plan outings.', messages, tools: TOOLS, tool_choice: 'auto', response: { name: 'plan', schema: Answer } }, usage);
    expect(final.response.finish).toBe('stop');
    expect(final.response.tool_calls).toEqual([]);
    expect(Value.Check(Answer, final.response.parsed)).toBe(true);
    expect(JSON.parse(final.response.text)).toEqual(final.response.parsed);
    expect(usage.requests).toBe(2);

    // The fake refuses (400) results that answer no call; here is how each wire carried them.
    const body = lastBody();
    if (kind === 'openai') {
      const assistant = body.messages.find((m: any) => m.role === 'assistant');
      expect(assistant.tool_calls.map((c: any) => JSON.parse(c.function.arguments))).toEqual(first.response.tool_calls.map((c) => c.arguments));
      expect(body.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.tool_call_id)).toEqual(first.response.tool_calls.map((c) => c.id));
      expect(body.tool_choice).toBe('auto');
      expect(body.response_format.json_schema.name).toBe('plan');
    } else {
      const results = body.messages.at(-1);
      expect(results.role).toBe('user');
      expect(results.content.map((b: any) => [b.type, b.tool_use_id])).toEqual(first.response.tool_calls.map((c) => ['tool_result', c.id]));
      // 'auto' with a response schema: the caller's tools plus the answer tool, one of them due.
      expect(body.tools.map((t: any) => t.name)).toEqual(['weather', 'add', 'plan']);
      expect(body.tool_choice).toEqual({ type: 'any' });
    }
  });

  it('sends tool parameters in the provider-safe subset', async () => {
    await complete({ messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'required' });
    const body = lastBody();
    const sent = kind === 'openai' ? body.tools[0].function.parameters : body.tools[0].input_schema;
    expect(sent.properties.city).toEqual({ type: 'string' });
    expect(sent.required).toEqual(['city', 'units']);
    expect(sent.additionalProperties).toBe(false);
  });

  it('calls only the named tool when tool_choice names one', async () => {
    fake.configure({ toolCallsPerTurn: 2 });
    const { response } = await complete({ messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: { name: 'add' } });
    expect(response.tool_calls.map((c) => c.name)).toEqual(['add', 'add']);
    for (const call of response.tool_calls) expect(Value.Check(Add, call.arguments)).toBe(true);
    expect(lastBody().tool_choice).toEqual(kind === 'openai' ? { type: 'function', function: { name: 'add' } } : { type: 'tool', name: 'add' });
  });

  it("answers in text and calls nothing with tool_choice 'none'", async () => {
    const { response } = await complete({ messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'none' });
    expect(response.tool_calls).toEqual([]);
    expect(response.finish).toBe('stop');
    expect(response.text).toContain('Lisbon');
    expect(lastBody().tool_choice).toEqual(kind === 'openai' ? 'none' : { type: 'none' });
  });

  it("leaves the choice to the teacher with 'auto': the fake calls only when told to", async () => {
    const request: TeacherRequest = { messages: [{ role: 'user', content: PROMPT }], tools: TOOLS };
    expect((await complete(request)).response.tool_calls).toEqual([]);
    fake.configure({ autoToolCalls: true });
    const { response } = await complete(request);
    expect(response.finish).toBe('tool_calls');
    expect(response.tool_calls.map((c) => c.name)).toEqual(['weather']);
  });

  it("keeps the 'schema' fault for tool calls: arguments that break the parameter schema", async () => {
    fake.configure({ faults: [{ kind: 'schema', times: 1 }] });
    const { response } = await complete({ messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: { name: 'weather' } });
    expect(response.tool_calls).toHaveLength(1);
    expect(Value.Check(Weather, response.tool_calls[0].arguments)).toBe(false);
  });

  it("keeps the 'malformed' fault: arguments that are not JSON reach the caller as raw text, not a crash", async () => {
    fake.configure({ faults: [{ kind: 'malformed', times: 1 }] });
    const { response } = await complete({ messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'required' });
    if (kind === 'openai') {
      expect(response.tool_calls).toHaveLength(1);
      expect(typeof response.tool_calls[0].arguments).toBe('string');
    } else {
      // Anthropic sends tool input already parsed: broken JSON can only arrive as text.
      expect(response.tool_calls).toEqual([]);
      expect(() => JSON.parse(response.text)).toThrow();
    }
  });

  it('is refused, like by the real API, when a tool result answers no call', async () => {
    const messages: TeacherMessage[] = [{ role: 'user', content: PROMPT }, { role: 'tool', tool_call_id: 'call_nobody_made', content: '7' }];
    const err = await complete({ messages, tools: TOOLS }).catch((e) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err.message).toMatch(/\(400\).*call_nobody_made/);
  });

  it('keeps structured() as it was: the schema asked for the same way, the value validated', async () => {
    const usage = emptyUsage();
    const { value, provider: name, model } = await sut.structured({ llm: { provider: kind }, prompt: PROMPT, schema: Answer, schemaName: 'plan', signal: signal(), usage });
    expect(Value.Check(Answer, value)).toBe(true);
    expect([name, model]).toEqual([kind, `${kind}-model`]);
    const body = lastBody();
    if (kind === 'openai') {
      expect(body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'plan', strict: true } });
      expect(body.tools).toBeUndefined();
    } else {
      expect(body.tools.map((t: any) => t.name)).toEqual(['plan']);
      expect(body.tool_choice).toEqual({ type: 'tool', name: 'plan' });
    }
    expect(usage.requests).toBe(1);
  });
});

describe('the middleware chain', () => {
  it('lets a middleware observe and rewrite every call, structured() included', async () => {
    const seen: Array<{ provider: string; model: string; tools: string[] }> = [];
    const observe: TeacherMiddleware = (next) => (call, s) => {
      seen.push({ provider: call.provider.name, model: call.model, tools: (call.request.tools ?? []).map((t) => t.name) });
      return next({ ...call, request: { ...call.request, system: 'REWRITTEN SYSTEM' } }, s);
    };
    const sut = createLlmClient({ providers, middleware: [observe] });
    await sut.complete({ llm: { provider: 'anthropic', model: 'm2' }, request: { system: 'original', messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'required' }, signal: signal(), usage: emptyUsage() });
    expect(lastBody().system).toBe('REWRITTEN SYSTEM');
    await sut.structured({ llm: {}, system: 'original', prompt: PROMPT, schema: Answer, schemaName: 'plan', signal: signal(), usage: emptyUsage() });
    expect(lastBody().messages[0]).toEqual({ role: 'system', content: 'REWRITTEN SYSTEM' });
    expect(seen).toEqual([
      { provider: 'anthropic', model: 'm2', tools: ['weather', 'add'] },
      { provider: 'openai', model: 'openai-model', tools: [] },
    ]);
  });

  it('lets a middleware answer from a map without calling the provider', async () => {
    const canned = new Map<string, TeacherResponse>([
      [PROMPT, { text: '', parsed: { summary: 'From the map.', facts: ['one', 'two'] }, tool_calls: [], finish: 'stop', usage: { input: 0, output: 0 } }],
    ]);
    const fromMap: TeacherMiddleware = (next) => (call, s) => {
      const first = call.request.messages[0];
      const hit = first?.role === 'user' ? canned.get(first.content) : undefined;
      return hit ? Promise.resolve(hit) : next(call, s);
    };
    const sut = createLlmClient({ providers, middleware: [fromMap] });
    const usage = emptyUsage();
    const { value } = await sut.structured({ llm: { provider: 'anthropic' }, prompt: PROMPT, schema: Answer, schemaName: 'plan', signal: signal(), usage });
    expect(value).toEqual({ summary: 'From the map.', facts: ['one', 'two'] });
    expect(fake.stats().requests).toBe(0);
    expect([usage.input_tokens, usage.output_tokens, usage.cost_usd]).toEqual([0, 0, 0]);
    // A miss goes on to the provider.
    await sut.structured({ llm: { provider: 'anthropic' }, prompt: 'Another text entirely.', schema: Answer, schemaName: 'plan', signal: signal(), usage });
    expect(fake.stats().requests).toBe(1);
  });

  it('accumulates usage over calls, priced at the provider rates', async () => {
    const sut = createLlmClient({ providers });
    const usage = emptyUsage();
    const tokens = { input: 0, output: 0 };
    for (const kind of ['openai', 'anthropic']) {
      const { response } = await sut.complete({ llm: { provider: kind }, request: { messages: [{ role: 'user', content: PROMPT }], tools: TOOLS, tool_choice: 'required' }, signal: signal(), usage });
      expect(response.usage.input).toBeGreaterThan(0);
      tokens.input += response.usage.input;
      tokens.output += response.usage.output;
    }
    expect(usage).toEqual({ requests: 2, input_tokens: tokens.input, output_tokens: tokens.output, cost_usd: (tokens.input * 2 + tokens.output * 10) / 1e6, cache_hits: 0 });
  });

  it('counts metrics by outcome, a rejected structured answer as schema', async () => {
    const metrics = createMetrics();
    const sut = createLlmClient({ providers, metrics });
    let calls = 0;
    await sut.structured({ llm: {}, prompt: PROMPT, schema: Answer, schemaName: 'plan', signal: signal(), usage: emptyUsage(), check: () => (++calls === 1 ? 'try again' : undefined) });
    expect(calls).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/quarry_llm_requests_total\{provider="openai",model="openai-model",outcome="schema"\} 1\n/);
    expect(text).toMatch(/quarry_llm_requests_total\{provider="openai",model="openai-model",outcome="ok"\} 1\n/);
    expect(text).toMatch(/quarry_llm_tokens_total\{provider="openai",direction="input"\} [1-9]/);
  });

  it('holds calls past a provider\'s max_concurrency until one ends, and drops those whose signal aborted meanwhile', async () => {
    const pending: Array<() => void> = [];
    let inFlight = 0;
    let peak = 0;
    const held: TeacherCall = () =>
      new Promise((resolve) => {
        peak = Math.max(peak, ++inFlight);
        pending.push(() => (inFlight--, resolve({ text: 'x', tool_calls: [], finish: 'stop', usage: { input: 1, output: 1 } })));
      });
    const sut = compose([concurrencyLimit()], held);
    const call = { provider: providers.get('single')!, model: 'm', request: { messages: [] }, cache: 'off' as const, mode: 'online' as const };
    const aborted = new AbortController();
    const calls = [sut(call, signal()), sut(call, aborted.signal), sut(call, signal())];
    await Promise.resolve();
    expect(pending).toHaveLength(1);
    aborted.abort();
    pending.shift()!();
    await expect(calls[1]).rejects.toThrow();
    await vi.waitFor(() => expect(pending).toHaveLength(1));
    pending.shift()!();
    await Promise.all([calls[0], calls[2]]);
    expect(peak).toBe(1);
  });
});
