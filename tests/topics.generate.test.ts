import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';
import { TEACHER_MODES } from './support/teacher-modes.js';

describe.each(TEACHER_MODES)('generate from topics, with $mode', ({ fake }) => {
  let h: Harness;
  let tree: { id: string; paths: string[][] };
  let graph: { id: string; nodes: unknown[] };
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
    const build = async (body: object) => {
      const run = (await request(h.url).post('/v1/topics').set('Prefer', 'wait=30').send(body).expect(200)).body.run;
      return JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    };
    tree = await build({ prompt: 'Postgres', degree: 2, depth: 2 });
    graph = await build({ prompt: 'Networking', mode: 'graph', degree: 2, depth: 2 });
  });
  afterAll(() => h?.close());

  const generate = async (body: Record<string, unknown>) => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send(body).expect(200)).body.run;
    const records = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);
    return { run, records };
  };

  it('writes one conversation per unique topic with num_samples "auto"', async () => {
    const { run, records } = await generate({ topics_id: tree.id, task: 'conversation', turns: 2 });
    expect(run).toMatchObject({ status: 'succeeded', output: { report: { unique_topics: 4, samples: 4, cycles: 1 } } });
    expect(records.map((r: any) => r.topic_path.join('/')).sort()).toEqual(tree.paths.map((p) => p.join('/')).sort());
    expect(records[0].messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const [line] = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=sharegpt`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(line.conversations.map((t: any) => t.from)).toEqual(['human', 'gpt', 'human', 'gpt']);
  });

  it('cycles over the topics evenly when num_samples exceeds them, and says so', async () => {
    const { run, records } = await generate({ topics_id: tree.id, task: 'conversation', num_samples: 10 });
    expect(run.output.report).toMatchObject({ unique_topics: 4, samples: 10, cycles: 3, note: expect.stringContaining('cycle') });
    const uses = new Map<string, number>();
    for (const r of records) uses.set(r.topic_path.join('/'), (uses.get(r.topic_path.join('/')) ?? 0) + 1);
    expect([...uses.values()].sort()).toEqual([2, 2, 3, 3]);
    // The same topic in another cycle is asked for a different sample.
    const prompts = h.fake.requests().map((r) => (r.body as any).messages.at(-1).content as string);
    expect(prompts.some((p) => p.includes('This is sample 3 for this topic'))).toBe(true);
  });

  it('takes num_samples as a percentage of the unique topics', async () => {
    const { run } = await generate({ topics_id: tree.id, task: 'qa', num_samples: '50%' });
    expect(run.progress.total).toBe(2);
  });

  it('uses every non-root node of a graph as a unique topic', async () => {
    const { run, records } = await generate({ topics_id: graph.id, task: 'qa' });
    expect(run.output.report.unique_topics).toBe(graph.nodes.length - 1);
    expect(records.every((r: any) => r.topic_path[0] === 'Networking' && r.topic_path.length >= 2)).toBe(true);
    expect(records[0]).toMatchObject({ question: expect.any(String), answer: expect.any(String) });
  });

  it('puts the system prompt into each conversation with include_system_message', async () => {
    const { records } = await generate({ topics: [['Cooking', 'Bread']], task: 'conversation', system_prompt: 'You are a baker.', include_system_message: true, instructions: 'Keep it practical.' });
    expect(records[0].messages[0]).toEqual({ role: 'system', content: 'You are a baker.' });
    const sent = h.fake.requests().at(-1)!.body as any;
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are a baker.' });
    expect(sent.messages.at(-1).content).toContain('Instructions: Keep it practical.');
  });

  it('writes the reasoning of cot conversations, free text or structured steps', async () => {
    const free = (await generate({ topics: [['Math', 'Primes']], task: 'conversation', conversation: { type: 'cot' } })).records[0];
    expect(free.reasoning).toMatchObject({ style: 'freetext', content: expect.any(String) });
    const steps = (await generate({ topics: [['Math', 'Primes']], task: 'conversation', conversation: { type: 'cot', reasoning_style: 'structured' } })).records[0];
    expect(steps.reasoning.style).toBe('structured');
    expect(steps.reasoning.content[0]).toMatchObject({ step_number: expect.any(Number), thought: expect.any(String) });
  });

  it('cot pairs from topics export with their reasoning', async () => {
    const { run, records } = await generate({ topics: [['Physics', 'Optics']], task: 'cot' });
    expect(typeof records[0].reasoning).toBe('string');
    const [line] = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=messages`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(line.messages[1].reasoning_content).toBe(records[0].reasoning);
  });

  it.each([
    [{ topics_id: 'tp_000000000000000000000000' }, 'topics_id'],
    [{ topics: [['a']], num_samples: 0 }, 'num_samples'],
    [{ topics: [['a']], num_samples: 'many' }, 'num_samples'],
    [{ topics: [['a']], n_pairs: 2 }, 'n_pairs'],
    [{ topics: [['a']], task: 'qa', conversation: { type: 'cot' } }, 'conversation'],
    [{ topics: [['a']], task: 'conversation', conversation: { reasoning_style: 'structured' } }, 'conversation.reasoning_style'],
    [{ topics: [['a']], task: 'knowledge' }, 'task'],
    [{ topics: [[]] }, 'topics.0'],
    [{ documents: [{ name: 'a', text: 'b' }], num_samples: 3 }, 'num_samples'],
    [{ topics: [['a']], documents: [{ name: 'a', text: 'b' }] }, 'topics'],
  ])('rejects %j naming %s', async (body, field) => {
    const res = await request(h.url).post('/v1/generate').send(body).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toContain(field);
  });
});

describe('batch_size caps a run’s concurrency', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 80 }, env: { WORKER_CONCURRENCY: '8' } });
  });
  afterAll(() => h?.close());

  it('keeps at most batch_size samples in flight, while an uncapped run uses the worker', async () => {
    const topics = [['A', '1'], ['A', '2'], ['A', '3'], ['A', '4']];
    h.fake.reset();
    const capped = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ topics, task: 'qa', num_samples: 12, batch_size: 2 }).expect(200)).body.run;
    expect(capped).toMatchObject({ status: 'succeeded', progress: { records: 12 } });
    expect(h.fake.stats().peakInFlight).toBe(2);
    h.fake.reset();
    const free = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ topics, task: 'qa', num_samples: 12 }).expect(200)).body.run;
    expect(free.status).toBe('succeeded');
    expect(h.fake.stats().peakInFlight).toBeGreaterThan(2);
  });

  it('rejects batch_size without a topic source', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [{ name: 'a', text: 'b' }], batch_size: 2 }).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'batch_size' });
  });
});
