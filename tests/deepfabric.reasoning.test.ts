import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/deepfabric/${name}`, import.meta.url), 'utf8');

/** The reasoning as DeepFabric's training guide writes it out: free text as it is, steps as `Step n: thought` lines. */
const expectedText = (reasoning: { style: string; content: unknown }) =>
  typeof reasoning.content === 'string'
    ? reasoning.content.trim()
    : (reasoning.content as Array<{ step_number: number; thought: string }>).map((s) => `Step ${s.step_number}: ${s.thought.trim()}`).join('\n');

/** CoT configs of every layout and reasoning style DeepFabric has had, generated, then exported in each format. */
const CASES: Array<[name: string, yaml: string, style: 'freetext' | 'structured']> = [
  ['v4 reasoning.yaml (cot, freetext)', fixture('v4-reasoning.yaml'), 'freetext'],
  ['v3 reasoning.yaml (chain_of_thought, freetext)', fixture('v3-reasoning.yaml'), 'freetext'],
  ['v2 cot_structured.yaml (cot_structured)', fixture('v2-cot_structured.yaml'), 'structured'],
  ['v4 reasoning.yaml with reasoning_style: structured', fixture('v4-reasoning.yaml').replace('reasoning_style: freetext', 'reasoning_style: structured'), 'structured'],
];

describe.each(DATABASES)('DeepFabric CoT reasoning survives export (%s)', (db) => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 1 });
    h = await startHarness({ db, fakeLlm: fake, env: { GEMINI_API_KEY: 'gemini-test-key', GEMINI_BASE_URL: fake.openaiBaseUrl } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const lines = async (path: string) => (await request(h.url).get(path).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));

  it.each(CASES)('%s', async (_name, yaml, style) => {
    const run = (await request(h.url).post('/v1/pipelines?num_samples=3').set('content-type', 'application/yaml').set('Prefer', 'wait=120').send(yaml).expect(200)).body.run;
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    const records = await lines(`/v1/datasets/${run.output.dataset_id}/export?format=jsonl`);
    expect(records).toHaveLength(3);
    const byKey = (ls: any[]) => ls.map((l, i) => [records[i], l] as const);
    const messages = byKey(await lines(`/v1/datasets/${run.output.dataset_id}/export?format=messages`));
    const chatml = byKey(await lines(`/v1/datasets/${run.output.dataset_id}/export?format=chatml`));
    const sharegpt = byKey(await lines(`/v1/datasets/${run.output.dataset_id}/export?format=sharegpt`));
    for (const [record, line] of messages) {
      expect(record.reasoning.style).toBe(style);
      if (style === 'structured') expect(record.reasoning.content[0]).toMatchObject({ step_number: expect.any(Number), thought: expect.any(String) });
      const text = expectedText(record.reasoning);
      expect(text.length).toBeGreaterThan(0);
      const answer = record.messages.at(-1).content;
      // messages: the answer as it is, the reasoning beside it.
      expect(line.messages.at(-1)).toEqual({ role: 'assistant', content: answer, reasoning_content: text });
      expect(line.messages[0]).toEqual(record.messages[0]);
    }
    for (const [record, line] of chatml) {
      // chatml: the reasoning before the answer, in DeepFabric's <thinking> block.
      expect(line.messages.at(-1)).toEqual({ role: 'assistant', content: `<thinking>${expectedText(record.reasoning)}</thinking>\n${record.messages.at(-1).content}` });
    }
    for (const [record, line] of sharegpt) expect(line.conversations.at(-1).value).toBe(`<thinking>${expectedText(record.reasoning)}</thinking>\n${record.messages.at(-1).content}`);
  });

  it('a basic conversation exports without reasoning', async () => {
    const run = (await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').set('Prefer', 'wait=120').send(fixture('v4-basic-tree.yaml')).expect(200)).body.run;
    const [line] = await lines(`/v1/datasets/${run.output.dataset_id}/export?format=messages`);
    expect(line.messages.at(-1)).not.toHaveProperty('reasoning_content');
    expect(line.messages.at(-1).content).not.toContain('<thinking>');
  });
});
