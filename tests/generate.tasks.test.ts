import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

describe('generate tasks: cot and conversation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const generate = async (body: Record<string, unknown>) =>
    (await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('kb.md', 2)], ...body }).expect(200)).body.run;
  const records = async (datasetId: string) => (await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);
  const exportLines = async (datasetId: string, format: string) =>
    (await request(h.url).get(`/v1/datasets/${datasetId}/export?format=${format}`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));

  it('cot writes question, 2–5 ordered reasoning steps and an answer, and exports the reasoning', async () => {
    const run = await generate({ task: 'cot', n_pairs: 2 });
    expect(run).toMatchObject({ status: 'succeeded', kind: 'generate', spec: { task: 'cot' }, progress: { records: 4 }, output: { report: { examples_requested: 4 } } });
    const sent = h.fake.requests().at(-1)!.body as any;
    expect(sent.response_format.json_schema.schema.properties.items.items.properties.reasoning).toMatchObject({ type: 'array', minItems: 2, maxItems: 5 });
    const [first] = await records(run.output.dataset_id);
    expect(Object.keys(first)).toEqual(['question', 'reasoning', 'answer', 'chunk_id', 'source', 'model', 'context']);
    expect(first.reasoning.length).toBeGreaterThanOrEqual(2);

    const [chatml] = await exportLines(run.output.dataset_id, 'chatml');
    const steps = first.reasoning.map((s: string, i: number) => `${i + 1}. ${s}`).join('\n');
    expect(chatml.messages).toEqual([{ role: 'user', content: first.question }, { role: 'assistant', content: `${steps}\n\n${first.answer}` }]);
    const [messages] = await exportLines(run.output.dataset_id, 'messages');
    expect(messages.messages[1]).toEqual({ role: 'assistant', content: first.answer, reasoning_content: steps });
  });

  it('conversation writes one linked multi-turn conversation per chunk', async () => {
    const run = await generate({ task: 'conversation', turns: 4 });
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 2, records: 2 }, output: { report: { conversations_requested: 2 } } });
    const [conv] = await records(run.output.dataset_id);
    expect(conv.chunk_id).toBe('kb_section-1');
    expect(conv.turns.map((t: any) => t.qa_id)).toEqual(['kb_section-1_t1', 'kb_section-1_t2', 'kb_section-1_t3', 'kb_section-1_t4']);
    expect(conv.turns.map((t: any) => t.builds_on)).toEqual([null, 'kb_section-1_t1', 'kb_section-1_t2', 'kb_section-1_t3']);
    expect(conv.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(conv.messages[2].content).toBe(conv.turns[1].query);
    expect(conv.context).toContain('fact0_0');

    const [sharegpt] = await exportLines(run.output.dataset_id, 'sharegpt');
    expect(sharegpt.conversations.map((t: any) => t.from)).toEqual(['human', 'gpt', 'human', 'gpt', 'human', 'gpt', 'human', 'gpt']);
    const [alpaca] = await exportLines(run.output.dataset_id, 'alpaca');
    expect(alpaca.instruction).toBe(conv.turns[3].query);
    expect(alpaca.history).toEqual(conv.turns.slice(0, 3).map((t: any) => [t.query, t.answer]));
  });

  it('conversation with answers: false writes the questions only, for evaluation sets', async () => {
    const run = await generate({ task: 'conversation', answers: false });
    const sent = h.fake.requests().at(-1)!.body as any;
    expect(sent.response_format.json_schema.schema.properties.turns.items.required).toEqual(['question']);
    const [conv] = await records(run.output.dataset_id);
    expect(conv.messages).toBeUndefined();
    expect(conv.turns).toHaveLength(3);
    expect(conv.turns.every((t: any) => t.query && !('answer' in t))).toBe(true);
    const refused = await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=chatml`).expect(422);
    expect(refused.body.error.details[0].field).toBe('format');
    expect(await exportLines(run.output.dataset_id, 'jsonl')).toHaveLength(2);
  });

  it('passes language and seed examples to the teacher', async () => {
    await generate({ n_pairs: 1, language: 'Spanish', seed_examples: ['¿Cómo se instala?', '¿Qué hace la opción --force?'] });
    const prompt = (h.fake.requests().at(-1)!.body as any).messages.at(-1).content as string;
    expect(prompt).toContain('Write the questions and answers in Spanish.');
    expect(prompt).toContain('- ¿Qué hace la opción --force?');
  });

  it.each([
    [{ task: 'summary' }, 'task'],
    [{ task: 'qa', turns: 3 }, 'turns'],
    [{ task: 'cot', answers: false }, 'answers'],
    [{ task: 'conversation', n_pairs: 2 }, 'n_pairs'],
    [{ task: 'conversation', target_pairs: 10 }, 'target_pairs'],
    [{ task: 'conversation', turns: 1 }, 'turns'],
    [{ task: 'conversation', turns: 13 }, 'turns'],
    [{ task: 'conversation', answers: 'no' }, 'answers'],
    [{ seed_examples: [] }, 'seed_examples'],
    [{ seed_examples: [''] }, 'seed_examples.0'],
    [{ seed_examples: 'how?' }, 'seed_examples'],
    [{ language: 'x' }, 'language'],
  ])('rejects %j naming %s, and queues nothing', async (body, field) => {
    const before = (await request(h.url).get('/v1/runs?limit=200').expect(200)).body.runs.length;
    const res = await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('bad.md', 1)], ...body }).expect(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: any) => d.field)).toContain(field);
    expect((await request(h.url).get('/v1/runs?limit=200').expect(200)).body.runs).toHaveLength(before);
  });
});

describe('fairforge export', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  // Grouping, context, language and qa_ids against Fair-Forge's schema: tests/fairforge.export.test.ts.
  it('exports question-only conversations as one Fair-Forge evaluation dataset', async () => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('ff.md', 3)], task: 'conversation', answers: false, turns: 2 }).expect(200)).body.run;
    const res = await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=fairforge&assistant_id=bot-7&language=spanish`).expect(200);
    expect(res.headers['content-type']).toContain('application/json');
    const datasets = JSON.parse(res.text);
    expect(datasets).toHaveLength(1);
    const [d] = datasets;
    expect(d).toMatchObject({ session_id: run.output.dataset_id, assistant_id: 'bot-7', language: 'spanish' });
    expect(d.context).toContain('fact0_0');
    expect(d.context).toContain('fact2_0');
    expect(d.conversation.filter((b: any) => b.qa_id.startsWith('ff_section-1_'))).toMatchObject([
      { qa_id: 'ff_section-1_t1', query: expect.any(String), assistant: '', ground_truth_assistant: '' },
      { qa_id: 'ff_section-1_t2', query: expect.any(String), assistant: '', ground_truth_assistant: '', agentic: { builds_on: 'ff_section-1_t1' } },
    ]);
  });

  it('numbers the QA pairs of each chunk and keeps their answers as ground truths', async () => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('qa.md', 2)], n_pairs: 3 }).expect(200)).body.run;
    const datasets = JSON.parse((await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=fairforge`).expect(200)).text);
    expect(datasets.map((d: any) => d.conversation.length)).toEqual([6]);
    expect(datasets[0]).toMatchObject({ assistant_id: 'assistant', language: 'english' });
    expect(datasets[0].conversation.map((b: any) => b.qa_id).sort()).toEqual(['qa_section-1_q1', 'qa_section-1_q2', 'qa_section-1_q3', 'qa_section-2_q1', 'qa_section-2_q2', 'qa_section-2_q3']);
    expect(datasets[0].conversation[0].ground_truth_assistant.length).toBeGreaterThan(0);
  });

  it('numbers an imported pair without a chunk under its record key', async () => {
    const imported = (await request(h.url).post('/v1/datasets').send([{ question: 'q?', answer: 'a' }]).expect(201)).body.dataset.id;
    const datasets = JSON.parse((await request(h.url).get(`/v1/datasets/${imported}/export?format=fairforge`).expect(200)).text);
    expect(datasets).toEqual([
      {
        session_id: imported,
        assistant_id: 'assistant',
        context: '',
        language: 'english',
        conversation: [{ qa_id: 'import#0_q1', query: 'q?', assistant: '', ground_truth_assistant: 'a', observation: null, agentic: {}, ground_truth_agentic: {}, logprobs: {}, weight: null }],
      },
    ]);
  });
});

describe('topic filter for generated pairs', () => {
  // The filter itself, with both fake teachers and one that ignores the schema: tests/topics.filter.test.ts.
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  it('rejects a topic for conversations', async () => {
    const res = await request(h.url).post('/v1/generate').send({ task: 'conversation', documents: [markdownDoc('t.md', 1)], topic: 'x y' }).expect(400);
    expect(res.body.error.details[0].field).toBe('topic');
  });
});
