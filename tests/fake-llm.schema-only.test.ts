import Anthropic from '@anthropic-ai/sdk';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { itemLabels, labelledSchema } from '../src/llm/aligned.js';
import { toWireSchema } from '../src/llm/wire-schema.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';

// Distinctive words: none of them may turn up in a schema-only answer.
const PROMPT = 'Rate these.\n\n[p1]\nQuokkavian saffron harbour\n\n[p2]\nFlamingo lagoon reeds\n\n[p3]\nVolcanic ridge storms\n\nReturn JSON.';
const PROMPT_WORDS = ['quokkavian', 'saffron', 'harbour', 'flamingo', 'lagoon', 'reeds', 'volcanic', 'ridge', 'storms', 'rate', 'these', 'p1', 'p2', 'p3'];

const Item = Type.Object({
  id: Type.String(),
  verdict: Type.Union([Type.Literal('yes'), Type.Literal('no'), Type.Literal('maybe')]),
  score: Type.Integer({ minimum: 0, maximum: 3 }),
  note: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Array(Type.String(), { minItems: 1, maxItems: 4 }),
});
const labels = itemLabels('p', 3);
const schema = labelledSchema(Item, labels);
const check = TypeCompiler.Compile(schema);
const wire = toWireSchema(schema);

let fake: FakeLlm;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  fake = await startFakeLlm({ schemaOnly: true });
  openai = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: 'test', maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = async (prompt = PROMPT) => {
  const res = await openai.chat.completions.create({
    model: 'small-local-model',
    messages: [{ role: 'user', content: prompt }],
    response_format: { type: 'json_schema', json_schema: { name: 'verdicts', schema: wire, strict: true } },
  });
  return JSON.parse(res.choices[0].message.content ?? 'null') as unknown;
};

describe('a fake teacher that only follows the schema', () => {
  it('answers every request with a schema-valid value that echoes nothing from the prompt', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask()));
    for (const answer of answers) {
      expect([...check.Errors(answer)]).toEqual([]);
      const words = JSON.stringify(Object.values(answer as object)).toLowerCase().match(/[a-z0-9]+/g) ?? [];
      expect(words.filter((w) => PROMPT_WORDS.includes(w))).toEqual([]);
    }
    // The labels are there because the schema requires them, not because the prompt names them.
    const values = answers.flatMap((a) => Object.values(a as Record<string, { id: string; verdict: string; steps: string[] }>));
    expect(values.some((v) => labels.includes(v.id))).toBe(false);
    // Random, within what the schema allows: key order, enum picks, array lengths.
    expect(new Set(answers.map((a) => Object.keys(a as object).join())).size).toBeGreaterThan(1);
    expect(new Set(values.map((v) => v.verdict)).size).toBeGreaterThan(1);
    expect(new Set(values.map((v) => v.steps.length)).size).toBeGreaterThan(1);
    expect(values.every((v) => v.steps.length >= 1 && v.steps.length <= 4)).toBe(true);
  });

  it('answers a forced Anthropic tool the same way', async () => {
    const res = await anthropic.messages.create({
      model: 'claude-teacher',
      max_tokens: 1024,
      messages: [{ role: 'user', content: PROMPT }],
      tools: [{ name: 'verdicts', description: 'Record your answer.', input_schema: { type: 'object', ...wire } }],
      tool_choice: { type: 'tool', name: 'verdicts' },
    });
    const block = res.content[0];
    expect(block.type).toBe('tool_use');
    if (block.type !== 'tool_use') return;
    expect([...check.Errors(block.input)]).toEqual([]);
    expect(JSON.stringify(block.input).toLowerCase()).not.toMatch(/quokkavian|saffron|flamingo/);
  });

  it('answers text requests with made-up words, and keeps the mode across reset()', async () => {
    const res = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: PROMPT }] });
    expect(res.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(res.choices[0].message.content!.toLowerCase()).not.toMatch(/quokkavian|saffron|flamingo/);
    fake.reset();
    const config = await (await fetch(`${fake.url}/_fake/config`, { method: 'POST', body: '{}' })).json();
    expect(config.schemaOnly).toBe(true);
  });

  it('records each answer beside its request', async () => {
    const answer = await ask();
    const [recorded] = fake.requests();
    const response = recorded.response as { choices: Array<{ message: { content: string } }> };
    expect(JSON.parse(response.choices[0].message.content)).toEqual(answer);
  });
});

describe('a fake teacher that ignores the schema (fault misalign)', () => {
  it('skips the last label, adds one the schema does not have and reverses the rest', async () => {
    fake.configure({ faults: [{ kind: 'misalign', times: 1 }] });
    const answer = await ask();
    // Which label goes missing depends on the (random) key order of the answer it garbles.
    const keys = Object.keys(answer as object);
    expect(keys).toHaveLength(3);
    expect(keys.at(-1)).toBe('item');
    expect(keys.filter((k) => labels.includes(k))).toHaveLength(2);
    expect(check.Check(answer)).toBe(false);
    expect(check.Check(await ask())).toBe(true);
    expect(fake.stats().faults).toEqual({ misalign: 1 });
  });
});

describe('a fake teacher that reads the prompt', () => {
  it('answers each labelled item from that item’s own text', async () => {
    const reader = await startFakeLlm();
    try {
      const client = new OpenAI({ baseURL: reader.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
      const res = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: PROMPT }],
        response_format: { type: 'json_schema', json_schema: { name: 'verdicts', schema: wire, strict: true } },
      });
      const answer = JSON.parse(res.choices[0].message.content!) as Record<string, { steps: string[] }>;
      expect([...check.Errors(answer)]).toEqual([]);
      expect(answer.p1.steps.join(' ')).toContain('Quokkavian saffron harbour');
      expect(answer.p2.steps.join(' ')).toContain('Flamingo lagoon reeds');
      expect(answer.p3.steps.join(' ')).toContain('Volcanic ridge storms');
    } finally {
      await reader.close();
    }
  });
});

describe('a fake teacher with a pinned decision', () => {
  const Verdict = Type.Object({ correct: Type.Boolean(), confidence: Type.Number({ minimum: 0, maximum: 1 }), reasoning: Type.String() });
  const verdictWire = toWireSchema(Verdict);
  let pinned: FakeLlm;
  beforeAll(async () => {
    pinned = await startFakeLlm({ schemaOnly: true, pins: [{ match: 'Judge this', values: { correct: true, confidence: 0.9, absent: 'never added' } }] });
  });
  afterAll(() => pinned?.close());
  const verdict = async (prompt: string, kind: 'openai' | 'anthropic') => {
    if (kind === 'openai') {
      const client = new OpenAI({ baseURL: pinned.openaiBaseUrl, apiKey: 'test', maxRetries: 0 });
      const res = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: prompt }],
        response_format: { type: 'json_schema', json_schema: { name: 'verdict', schema: verdictWire, strict: true } },
      });
      return JSON.parse(res.choices[0].message.content ?? 'null') as Record<string, unknown>;
    }
    const client = new Anthropic({ baseURL: pinned.anthropicBaseUrl, apiKey: 'test', maxRetries: 0 });
    const res = await client.messages.create({
      model: 'c',
      max_tokens: 256,
      messages: [{ role: 'user', content: prompt }],
      tools: [{ name: 'verdict', description: 'Record it.', input_schema: { type: 'object', ...verdictWire } }],
      tool_choice: { type: 'tool', name: 'verdict' },
    });
    const block = res.content[0];
    return (block.type === 'tool_use' ? block.input : {}) as Record<string, unknown>;
  };

  it.each(['openai', 'anthropic'] as const)('answers matching prompts with the pinned values and nothing more (%s); others as usual', async (kind) => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => verdict(`Judge this, case ${i}.`, kind)));
    for (const a of answers) {
      expect(a).toMatchObject({ correct: true, confidence: 0.9 });
      expect(Object.keys(a).sort()).toEqual(['confidence', 'correct', 'reasoning']);
    }
    const others = await Promise.all(Array.from({ length: 24 }, (_, i) => verdict(`Rate case ${i}.`, kind)));
    expect(new Set(others.map((a) => a.correct)).size).toBe(2);
  });
});
