import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { valueFromSchema } from '../src/fake-llm/schema-value.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';

// A distinctive word lets us prove the answer is drawn from the prompt, not canned.
const SOURCE =
  'The Quokkavian archipelago exports saffron and copper. ' +
  'Quokkavian tidal lagoons, fed by three rivers, host migrating flamingos every spring. ' +
  'Local Quokkavian fishermen use reed boats that last about two seasons. ' +
  'A volcanic ridge shelters the northern Quokkavian harbour from winter storms.';

const QA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['topic', 'pairs'],
  properties: {
    topic: { type: 'string' },
    pairs: {
      type: 'array',
      minItems: 3,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['question', 'answer', 'difficulty', 'score'],
        properties: {
          question: { type: 'string' },
          answer: { type: 'string' },
          difficulty: { type: 'string', enum: ['easy', 'medium', 'hard'] },
          score: { type: 'integer', minimum: 1, maximum: 5 },
        },
      },
    },
  },
} as const;

type Pair = { question: string; answer: string; difficulty: string; score: number };

function expectQa(value: any) {
  expect(Object.keys(value).sort()).toEqual(['pairs', 'topic']);
  expect(value.topic.length).toBeGreaterThan(0);
  expect(value.pairs).toHaveLength(3);
  for (const pair of value.pairs as Pair[]) {
    expect(Object.keys(pair).sort()).toEqual(['answer', 'difficulty', 'question', 'score']);
    expect(pair.question).toMatch(/\?$/);
    expect(pair.answer.length).toBeGreaterThan(0);
    expect(pair.difficulty).toBe('easy');
    expect(Number.isInteger(pair.score) && pair.score >= 1 && pair.score <= 5).toBe(true);
  }
}

let fake: FakeLlm;
let openai: OpenAI;
let anthropic: Anthropic;

const chat = (user = SOURCE, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}, client = openai) =>
  client.chat.completions.create({
    model: 'teacher-1',
    messages: [
      { role: 'system', content: 'You write question/answer pairs.' },
      { role: 'user', content: user },
    ],
    response_format: { type: 'json_schema', json_schema: { name: 'qa', schema: QA_SCHEMA, strict: true } },
    ...extra,
  });

const toolCall = (user = SOURCE) =>
  anthropic.messages.create({
    model: 'claude-teacher',
    max_tokens: 1024,
    system: 'You write question/answer pairs.',
    messages: [{ role: 'user', content: [{ type: 'text', text: user }] }],
    tools: [{ name: 'qa', description: 'Record your answer.', input_schema: QA_SCHEMA as unknown as Anthropic.Tool.InputSchema }],
    tool_choice: { type: 'tool', name: 'qa' },
  });

beforeAll(async () => {
  fake = await startFakeLlm();
  openai = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: 'test', maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.configure({ latencyMs: 0, label: '' });
});

describe('OpenAI chat completions', () => {
  it('answers a json_schema request with JSON that satisfies the nested schema', async () => {
    const res = await chat();
    const content = res.choices[0].message.content!;
    expectQa(JSON.parse(content));
    expect(res.model).toBe('teacher-1');
    expect(res.choices[0].finish_reason).toBe('stop');
    expect(res.choices[0].message.refusal).toBeNull();
    // Drawn from the prompt, with different sentences for different items.
    expect(content).toContain('Quokkavian');
    const answers = (JSON.parse(content).pairs as Pair[]).map((p) => p.answer);
    expect(new Set(answers).size).toBe(3);
    expect(res.usage!.prompt_tokens).toBe(Math.ceil(('You write question/answer pairs.'.length + SOURCE.length) / 4));
    expect(res.usage!.completion_tokens).toBe(Math.ceil(content.length / 4));
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const sent = fake.requests().at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect((sent.body as any).response_format.json_schema.schema).toEqual(QA_SCHEMA);
  });

  it('is deterministic for the same request', async () => {
    const [a, b] = await Promise.all([chat(), chat()]);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
  });

  it('answers plain text and json_object requests from the prompt', async () => {
    const text = await chat(SOURCE, { response_format: undefined });
    expect(text.choices[0].message.content).toContain('Quokkavian');
    const obj = await chat(SOURCE, { response_format: { type: 'json_object' } });
    expect(typeof JSON.parse(obj.choices[0].message.content!)).toBe('object');
  });

  it('rejects stream: true with an OpenAI-style 400', async () => {
    const err = await openai.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toMatch(/stream/);
  });

  it('lists models and 404s unknown paths', async () => {
    const models = await openai.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const res = await fetch(`${fake.url}/v1/nope`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.type).toBe('not_found_error');
  });
});

describe('Anthropic messages', () => {
  it('answers a forced tool call with input that satisfies the schema', async () => {
    const res = await toolCall();
    expect(res.stop_reason).toBe('tool_use');
    expect(res.model).toBe('claude-teacher');
    const block = res.content[0];
    expect(block.type).toBe('tool_use');
    if (block.type !== 'tool_use') return;
    expect(block.name).toBe('qa');
    expectQa(block.input);
    expect(JSON.stringify(block.input)).toContain('Quokkavian');
    expect(res.usage.input_tokens).toBeGreaterThan(0);
    expect(res.usage.output_tokens).toBe(Math.ceil(JSON.stringify(block.input).length / 4));
  });

  it('answers with a text block without a forced tool', async () => {
    const res = await anthropic.messages.create({ model: 'c', max_tokens: 100, messages: [{ role: 'user', content: SOURCE }] });
    expect(res.stop_reason).toBe('end_turn');
    expect(res.content[0].type).toBe('text');
  });

  it('shapes faults the Anthropic way', async () => {
    fake.configure({ faults: [{ kind: 'malformed', times: 1 }, { kind: 'truncate', times: 1 }, { kind: 'refusal', times: 1 }, { kind: '429', times: 1 }] });
    const malformed = await toolCall();
    expect(malformed.stop_reason).toBe('end_turn');
    expect(malformed.content[0].type).toBe('text');
    expect(() => JSON.parse((malformed.content[0] as Anthropic.TextBlock).text)).toThrow();
    const truncated = await toolCall();
    expect(truncated.stop_reason).toBe('max_tokens');
    const refused = await toolCall();
    expect(refused.stop_reason).toBe('refusal');
    const limited = await toolCall().catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.error.error.type).toBe('rate_limit_error');
    expect(limited.headers.get('retry-after')).toBe('1');
  });
});

describe('faults and knobs', () => {
  it('429 with Retry-After is honoured by the OpenAI SDK retry', async () => {
    fake.configure({ faults: [{ kind: '429', times: 1, retryAfter: 1 }] });
    const client = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'test', maxRetries: 2 });
    const started = Date.now();
    const res = await chat(SOURCE, {}, client);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expectQa(JSON.parse(res.choices[0].message.content!));
    expect(fake.stats()).toMatchObject({ requests: 2, completions: 1, faults: { '429': 1 } });
  });

  it('500 surfaces as InternalServerError', async () => {
    fake.configure({ faults: [{ kind: '500' }] });
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.error.type).toBe('api_error');
  });

  it('malformed, schema, truncate and refusal answers', async () => {
    fake.configure({ faults: [{ kind: 'malformed', times: 1 }, { kind: 'schema', times: 1 }, { kind: 'truncate', times: 1 }, { kind: 'refusal', times: 1 }] });
    const malformed = await chat();
    expect(() => JSON.parse(malformed.choices[0].message.content!)).toThrow();
    const wrong = JSON.parse((await chat()).choices[0].message.content!);
    expect(wrong.topic).toBeUndefined();
    expect(Array.isArray(wrong.pairs)).toBe(false);
    const truncated = await chat();
    expect(truncated.choices[0].finish_reason).toBe('length');
    expect(() => JSON.parse(truncated.choices[0].message.content!)).toThrow();
    const refused = await chat();
    expect(refused.choices[0].message.refusal).toBe('I can’t help with that.');
    expect(refused.choices[0].message.content).toBeNull();
    expect(fake.stats().faults).toEqual({ malformed: 1, schema: 1, truncate: 1, refusal: 1 });
  });

  it('hang times out in the SDK and close() is still prompt', async () => {
    const hanging = await startFakeLlm({ faults: [{ kind: 'hang' }] });
    const client = new OpenAI({ baseURL: hanging.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { timeout: 300 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const pending = chat(SOURCE, {}, client).catch((e) => e);
    while (hanging.stats().inFlight < 1) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await hanging.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('match restricts a fault to prompts containing the string', async () => {
    fake.configure({ faults: [{ kind: '500', match: 'POISON' }] });
    await expect(chat()).resolves.toBeDefined();
    await expect(chat(`${SOURCE} POISON`)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    await expect(chat()).resolves.toBeDefined();
    expect(fake.stats().faults).toEqual({ '500': 1 });
  });

  it('latency delays answers', async () => {
    fake.configure({ latencyMs: [150, 160] });
    const started = Date.now();
    await chat();
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('POST /_fake/config steers a running fake from another process', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.url}/_fake/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ label: '[offline placeholder] ', faults: [{ kind: 'refusal', times: 1 }] })).status).toBe(200);
    expect((await chat()).choices[0].message.refusal).toBeTruthy();
    const labelled = JSON.parse((await chat()).choices[0].message.content!);
    expect(labelled.topic.startsWith('[offline placeholder] ')).toBe(true);
    expect(labelled.pairs[0].question.startsWith('[offline placeholder] ')).toBe(true);
    expect((await post({ faults: [{ kind: 'nope' }] })).status).toBe(400);
    const stats = await (await fetch(`${fake.url}/_fake/stats`)).json();
    expect(stats).toMatchObject({ requests: 2, completions: 2, faults: { refusal: 1 }, byPath: { '/v1/chat/completions': 2 } });
  });
});

describe('valueFromSchema', () => {
  const ctx = { source: SOURCE, seed: 42 };

  it('handles refs, unions, consts and bounds', () => {
    const schema = {
      $defs: { Tag: { type: 'string', maxLength: 12 } },
      definitions: { Count: { type: ['null', 'integer'], minimum: 7, maximum: 7 } },
      type: 'object',
      properties: {
        tag: { $ref: '#/$defs/Tag' },
        count: { $ref: '#/definitions/Count' },
        maybe: { anyOf: [{ type: 'null' }, { type: 'boolean' }] },
        fixed: { const: 'v1' },
        ratio: { type: 'number', minimum: 0, maximum: 1 },
        long: { type: 'string', minLength: 500 },
        few: { type: 'array', items: { type: 'string' }, minItems: 5, maxItems: 1 },
        instruction: { type: 'string' },
        anything: {},
      },
    };
    const v = valueFromSchema(schema, ctx) as any;
    expect(v.tag.length).toBeLessThanOrEqual(12);
    expect(v.count).toBe(7);
    expect(typeof v.maybe).toBe('boolean');
    expect(v.fixed).toBe('v1');
    expect(v.ratio >= 0 && v.ratio <= 1).toBe(true);
    expect(v.long.length).toBeGreaterThanOrEqual(500);
    expect(v.few).toHaveLength(1);
    expect(v.instruction).toMatch(/\?$/);
    expect(typeof v.anything).toBe('string');
  });

  it('terminates on recursive schemas', () => {
    const tree = { $defs: { node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } }, $ref: '#/$defs/node' };
    const v = valueFromSchema(tree, ctx) as any;
    expect(typeof v.name).toBe('string');
    expect(v.children).toHaveLength(2);
  });
});
