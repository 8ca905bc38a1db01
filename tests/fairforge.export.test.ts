import Ajv from 'ajv';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/**
 * Fair-Forge's output, written from reference.md §3.2 (`fair_forge/schemas/common.py`):
 * `Dataset{session_id, assistant_id, language, context, conversation: [Batch{qa_id, query,
 * assistant, ground_truth_assistant, observation, agentic, ground_truth_agentic, logprobs, weight}]}`,
 * typed as its pydantic models type them.
 */
const nullable = (type: string) => ({ type: [type, 'null'] });
const Batch = {
  type: 'object',
  required: ['qa_id', 'query', 'assistant', 'ground_truth_assistant'],
  additionalProperties: false,
  properties: {
    qa_id: { type: 'string' },
    query: { type: 'string' },
    assistant: { type: 'string' },
    ground_truth_assistant: { type: 'string' },
    observation: nullable('string'),
    agentic: nullable('object'),
    ground_truth_agentic: nullable('object'),
    logprobs: nullable('object'),
    weight: nullable('number'),
  },
};
const FairForgeDatasets = {
  type: 'array',
  items: {
    type: 'object',
    required: ['session_id', 'assistant_id', 'context', 'conversation'],
    additionalProperties: false,
    properties: {
      session_id: { type: 'string' },
      assistant_id: { type: 'string' },
      language: nullable('string'),
      context: { type: 'string' },
      conversation: { type: 'array', items: Batch },
    },
  },
};
const validate = new Ajv.default({ allErrors: true, strict: true }).compile(FairForgeDatasets);

/** The text of section i of a markdownDoc, as its chunk holds it. */
const sectionBody = (i: number) => `${Array.from({ length: 40 }, (_, w) => `fact${i}_${w}`).join(' ')}. The end of this section.`;
const sectionOf = (chunkId: string) => Number(/section-(\d+)$/.exec(chunkId)![1]) - 1;

describe.each(DATABASES)('Fair-Forge export and Generator fields (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
  });
  afterAll(() => h?.close());

  const generate = async (body: Record<string, unknown>) => (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send(body).expect(200)).body.run;
  const exportFairForge = async (datasetId: string, query = '') => {
    const res = await request(h.url).get(`/v1/datasets/${datasetId}/export?format=fairforge${query}`).expect(200);
    expect(res.headers['content-type']).toContain('application/json');
    const datasets = JSON.parse(res.text);
    expect(validate(datasets), JSON.stringify(validate.errors)).toBe(true);
    return datasets;
  };
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  /** Every chunk's text once, joined by a blank line as Fair-Forge joins a group's chunks. */
  function expectContext(context: string, chunkIds: string[]) {
    const pieces = context.split('\n\n## ').length;
    expect(pieces).toBe(chunkIds.length);
    for (const id of chunkIds) expect(context.split(sectionBody(sectionOf(id))).length - 1, id).toBe(1);
    expect(context.startsWith('## Section')).toBe(true);
  }

  it('a sequential run exports as one dataset: every chunk as context, the run language, {chunk}_q{i} ids', async () => {
    const run = await generate({ documents: [markdownDoc('kb.md', 3)], n_pairs: 2, language: 'Spanish' });
    expect(run.status).toBe('succeeded');
    const datasets = await exportFairForge(run.output.dataset_id, '&assistant_id=bot-7&language=french');
    expect(datasets).toHaveLength(1);
    const [d] = datasets;
    // The run's language wins over the query's fallback.
    expect(d).toMatchObject({ session_id: run.output.dataset_id, assistant_id: 'bot-7', language: 'Spanish' });
    const chunks = ['kb_section-1', 'kb_section-2', 'kb_section-3'];
    expectContext(d.context, chunks);
    expect(d.conversation.map((b: any) => b.qa_id).sort()).toEqual(chunks.flatMap((c) => [`${c}_q1`, `${c}_q2`]).sort());
    const stored = await records(run.output.dataset_id);
    for (const b of d.conversation) {
      const chunk = b.qa_id.replace(/_q\d$/, '');
      expect(b).toMatchObject({ assistant: '', observation: `Generated from chunk: ${chunk}`, agentic: { chunk_id: chunk }, ground_truth_agentic: {}, logprobs: {}, weight: null });
      expect(stored.some((r: any) => r.question === b.query && r.chunk_id === chunk && r.answer === b.ground_truth_assistant)).toBe(true);
    }
    // The chunk text is stored once per chunk, not on every pair.
    expect(stored.filter((r: any) => typeof r.context === 'string')).toHaveLength(3);
  });

  it('random sampling exports one dataset per sample, each with only its chunks as context', async () => {
    const run = await generate({ documents: [markdownDoc('pool.md', 6)], n_pairs: 1, strategy: { type: 'random', num_samples: 3, chunks_per_sample: 2, seed: 11 } });
    expect(run.status).toBe('succeeded');
    const samples = run.output.report.samples as Array<{ dataset_id: string; chunk_ids: string[] }>;
    expect(samples).toHaveLength(3);
    const sessions = new Set<string>();
    for (const sample of samples) {
      const datasets = await exportFairForge(sample.dataset_id);
      expect(datasets).toHaveLength(1);
      const [d] = datasets;
      sessions.add(d.session_id);
      expect(d.language).toBe('english');
      expectContext(d.context, sample.chunk_ids);
      expect(d.conversation.map((b: any) => b.qa_id).sort()).toEqual(sample.chunk_ids.map((c) => `${c}_q1`).sort());
    }
    expect(sessions.size).toBe(3);
  });

  it('conversations keep their {chunk}_t{n} ids and link each turn to the one before', async () => {
    const run = await generate({ documents: [markdownDoc('conv.md', 2)], task: 'conversation', turns: 3, answers: false });
    const [d] = await exportFairForge(run.output.dataset_id);
    expectContext(d.context, ['conv_section-1', 'conv_section-2']);
    const first = d.conversation.filter((b: any) => b.qa_id.startsWith('conv_section-1_'));
    expect(first.map((b: any) => [b.qa_id, b.agentic.builds_on ?? null, b.agentic.turn_number])).toEqual([
      ['conv_section-1_t1', null, 1],
      ['conv_section-1_t2', 'conv_section-1_t1', 2],
      ['conv_section-1_t3', 'conv_section-1_t2', 3],
    ]);
    expect(first.every((b: any) => b.ground_truth_assistant === '' && b.agentic.conversation_mode === true)).toBe(true);
  });

  it('curated records carry Generator’s flat rating fields; a CoT record keeps its own reasoning', async () => {
    const generated = await generate({ documents: [markdownDoc('cur.md', 2)], n_pairs: 2, language: 'German' });
    const run = (await request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send({ dataset_id: generated.output.dataset_id, threshold: 1 }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const kept = await records(run.output.dataset_id);
    const rejected = run.output.rejected_dataset_id ? await records(run.output.rejected_dataset_id) : [];
    const judged = [...kept, ...rejected];
    expect(judged).toHaveLength(4);
    for (const r of judged) {
      for (const k of ['rating', 'clarity', 'accuracy', 'usefulness', 'difficulty'] as const) {
        expect(Number.isInteger(r[k]), k).toBe(true);
        expect(r[k]).toBe(r.curation[k]);
      }
      expect(r.rating).toBe(r.clarity + r.accuracy + r.usefulness + r.difficulty);
      expect(r.topic_relevant).toBe(true);
      // Generator's flat copy of the judge's verdict: read as the judge's, never as the pair's chain of thought.
      expect(typeof r.curation.reasoning).toBe('string');
      expect(r.reasoning).toBe(r.curation.reasoning);
    }
    // So the verdict never becomes training text: the answer is the assistant turn, with no reasoning.
    const lines = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=messages`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(kept.length);
    for (const [i, line] of lines.entries()) {
      const assistant = line.messages.at(-1);
      expect(assistant).toEqual({ role: 'assistant', content: kept[i].answer });
    }
    const chatml = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=chatml`).expect(200)).text;
    for (const r of kept) expect(chatml).not.toContain(JSON.stringify(r.curation.reasoning).slice(1, -1));
    // The curated dataset exports with the language its pairs were generated in.
    const [d] = await exportFairForge(run.output.dataset_id);
    expect(d.language).toBe('German');
    expect(d.conversation).toHaveLength(kept.length);

    const imported = (
      await request(h.url)
        .post('/v1/datasets')
        .send({
          name: 'mixed',
          records: [
            { question: 'How are retries spaced after a failure?', answer: 'Exponentially, with jitter.', reasoning: ['A failure backs off.', 'The wait doubles.'] },
            { messages: [{ role: 'user', content: 'What does the lease guard against?' }, { role: 'assistant', content: 'A worker that died holding a task.' }] },
          ],
        })
        .expect(201)
    ).body.dataset.id;
    const topical = (await request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send({ dataset_id: imported, threshold: 1, topic: 'queues' }).expect(200)).body.run;
    const all = [...(await records(topical.output.dataset_id)), ...(await records(topical.output.rejected_dataset_id))];
    const cot = all.find((r: any) => r.question);
    expect(cot.reasoning).toEqual(['A failure backs off.', 'The wait doubles.']);
    expect(typeof cot.rating).toBe('number');
    const chat = all.find((r: any) => r.messages);
    expect(chat).toMatchObject({ reasoning: chat.curation.reasoning, topic_relevant: chat.curation.topic_relevant });
    expect(typeof chat.topic_relevant).toBe('boolean');
    expect(typeof chat.reasoning).toBe('string');
  });
});
