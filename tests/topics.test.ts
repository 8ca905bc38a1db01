import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';
import { TEACHER_MODES } from './support/teacher-modes.js';
import { readSse } from './support/streams.js';

describe.each(TEACHER_MODES)('topics: trees and graphs, with $mode', ({ fake }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.fake.reset());

  const build = async (body: Record<string, unknown>) => {
    const run = (await request(h.url).post('/v1/topics').set('Prefer', 'wait=30').send(body).expect(200)).body.run;
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    return { run, topics };
  };

  it('builds a tree with exactly degree^depth root → leaf paths, expanding children concurrently', async () => {
    const { run, topics } = await build({ prompt: 'Postgres operations', degree: 3, depth: 3, llm: { model: 'topic-model', temperature: 0.4 } });
    expect(run).toMatchObject({ kind: 'topics', status: 'succeeded', progress: { total: 1 + 3 + 9, records: 1 + 3 + 9 + 27 } });
    expect(run.links.topics).toBe(`/v1/topics/${run.output.topics_id}`);
    expect(topics).toMatchObject({ mode: 'tree', prompt: 'Postgres operations', degree: 3, depth: 3, provider: 'openai', model: 'topic-model', temperature: 0.4, status: 'succeeded' });
    expect(topics.node_count).toBe(40);
    expect(topics.paths).toHaveLength(27);
    expect(topics.paths.every((p: string[]) => p.length === 4 && p[0] === 'Postgres operations')).toBe(true);
    expect(new Set(topics.paths.map((p: string[]) => p.join('/'))).size).toBe(27);
    // Stable ids: the first 16 hex of sha256 of the path.
    expect(topics.nodes.every((n: any) => /^[0-9a-f]{16}$/.test(n.id) && /^[0-9a-f]{64}$/.test(n.topic_hash))).toBe(true);
    const sse = await readSse(`${h.url}${run.links.events}`);
    const progress = sse.events.filter((e) => e.type === 'progress').map((e) => e.data.records);
    expect(progress.at(-1)).toBe(40);
  });

  it('cuts a teacher that returns too many subtopics down to degree', async () => {
    h.fake.configure({ faults: [{ kind: 'overfill' }] });
    const { topics } = await build({ prompt: 'Kubernetes', degree: 2, depth: 2 });
    expect(h.fake.stats().faults.overfill).toBe(3);
    expect(topics.paths).toHaveLength(4);
    expect(topics.nodes.filter((n: any) => n.depth === 1)).toHaveLength(2);
  });

  it('builds a graph whose cross-links point at existing nodes, with terminating path enumeration', async () => {
    const { run, topics } = await build({ prompt: 'Machine learning systems', mode: 'graph', degree: 2, depth: 3 });
    expect(run.status).toBe('succeeded');
    expect(topics.mode).toBe('graph');
    const ids = new Set(topics.nodes.map((n: any) => n.id));
    expect(topics.nodes).toHaveLength(1 + 2 + 4 + 8);
    const multi = topics.nodes.filter((n: any) => n.parents.length > 1);
    expect(multi.length).toBeGreaterThan(0);
    for (const n of topics.nodes) for (const p of n.parents) expect(ids.has(p)).toBe(true);
    // Links only ever come from nodes that existed before the new one: the graph stays acyclic.
    const order = new Map(topics.nodes.map((n: any, i: number) => [n.id, i]));
    for (const e of topics.edges) expect(order.get(e.from)).toBeLessThan(order.get(e.to) as number);
    expect(topics.paths.length).toBeGreaterThanOrEqual(8);
    // The teacher saw related existing topics, labelled with their ids.
    const prompts = h.fake.requests().map((r) => (r.body as any).messages.at(-1).content as string);
    expect(prompts.some((p) => p.includes('Existing topics most related to this one'))).toBe(true);
    // Links are an enum of those related ids, so a teacher that only follows the schema links to real nodes too.
    const linkable = h.fake.requests().map((r) => (r.body as any).response_format.json_schema.schema.properties.subtopics.items.properties?.connections?.items.enum).filter(Boolean);
    expect(linkable.length).toBeGreaterThan(0);
    for (const offered of linkable) {
      expect(offered.length).toBeLessThanOrEqual(20);
      for (const id of offered) expect(ids.has(id)).toBe(true);
    }
  });

  it.each(['isolated', 'anchored'])('a %s graph has no cross-links', async (style) => {
    const { topics } = await build({ prompt: 'Databases', mode: 'graph', degree: 2, depth: 2, prompt_style: style });
    expect(topics.nodes.every((n: any) => n.parents.length <= 1)).toBe(true);
    expect(topics.paths).toHaveLength(4);
    const prompt = (h.fake.requests().at(-1)!.body as any).messages.at(-1).content as string;
    expect(prompt.includes('Stay within the root topic "Databases"')).toBe(style === 'anchored');
  });

  it('reports a node whose expansion keeps failing instead of turning it into a leaf', async () => {
    h.fake.configure({ faults: [{ kind: 'schema', match: 'List 2 subtopics of "' }] });
    const run = (await request(h.url).post('/v1/topics').set('Prefer', 'wait=30').send({ prompt: 'Networking', degree: 2, depth: 2, max_attempts: 1 }).expect(200)).body.run;
    expect(run.status).toBe('failed');
    expect(run.output.report.failures[0]).toMatchObject({ key: expect.stringMatching(/^expand\//), error: { category: 'schema' } });
    const sse = await readSse(`${h.url}${run.links.events}`);
    expect(sse.events.some((e) => e.type === 'record.failed' && e.data.category === 'schema')).toBe(true);
  });

  it('exports DeepFabric tree JSONL and imports it back to the same structure', async () => {
    const { topics } = await build({ prompt: 'Cooking', degree: 2, depth: 2 });
    const jsonl = (await request(h.url).get(`/v1/topics/${topics.id}?format=jsonl`).expect(200)).text;
    const lines = jsonl.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0].path[0]).toBe('Cooking');
    const imported = (await request(h.url).post('/v1/topics/import').set('content-type', 'application/x-ndjson').send(jsonl).expect(201)).body.topics;
    expect(imported).toMatchObject({ mode: 'tree', prompt: 'Cooking', source: 'deepfabric-tree-jsonl' });
    const again = JSON.parse((await request(h.url).get(`/v1/topics/${imported.id}`).expect(200)).text).topics;
    expect(again.paths).toEqual(topics.paths);
    expect(again.nodes.map((n: any) => n.id).sort()).toEqual(topics.nodes.map((n: any) => n.id).sort());
    expect((await request(h.url).get(`/v1/topics/${imported.id}?format=jsonl`).expect(200)).text).toBe(jsonl);
  });

  it('exports DeepFabric graph JSON and imports it back to the same structure', async () => {
    const { topics } = await build({ prompt: 'Security', mode: 'graph', degree: 2, depth: 2 });
    const graph = JSON.parse((await request(h.url).get(`/v1/topics/${topics.id}?format=graph`).expect(200)).text);
    expect(graph.root_id).toBe(0);
    expect(graph.nodes['0']).toMatchObject({ id: 0, topic: 'Security', parents: [] });
    // The root's own subtopics are its children; later nodes may also link to it.
    expect(graph.nodes['0'].children).toEqual(expect.arrayContaining([1, 2]));
    expect(graph.nodes['1'].parents).toEqual([0]);
    expect(graph.metadata).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(graph.nodes['1'].metadata).toMatchObject({ uuid: topics.nodes[1].id, topic_hash: topics.nodes[1].topic_hash });
    const imported = (await request(h.url).post('/v1/topics/import').send(graph).expect(201)).body.topics;
    expect(imported).toMatchObject({ mode: 'graph', prompt: 'Security', source: 'deepfabric-graph-json', model: 'gpt-4o-mini' });
    const again = JSON.parse((await request(h.url).get(`/v1/topics/${imported.id}`).expect(200)).text).topics;
    expect(again.paths).toEqual(topics.paths);
    expect(again.edges.length).toBe(topics.edges.length);
    const list = (await request(h.url).get('/v1/topics?limit=200').expect(200)).body.topics.map((t: any) => t.id);
    expect(list).toContain(imported.id);
  });

  it.each([
    [{ prompt: 'x', degree: 0 }, 'degree'],
    [{ prompt: 'x', depth: 11 }, 'depth'],
    [{ prompt: 'x', mode: 'graph', depth: 6 }, 'depth'],
    [{ prompt: 'x', mode: 'graph', degree: 11 }, 'degree'],
    [{ prompt: 'x', mode: 'forest' }, 'mode'],
    [{ prompt: 'x', prompt_style: 'isolated' }, 'prompt_style'],
    [{ prompt: 'x', mode: 'graph', prompt_style: 'wild' }, 'prompt_style'],
    [{ prompt: '' }, 'prompt'],
    [{ degree: 2 }, 'prompt'],
    [{ prompt: 'x', llm: { provider: 'nope' } }, 'llm.provider'],
  ])('rejects %j naming %s', async (body, field) => {
    const res = await request(h.url).post('/v1/topics').send(body).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toContain(field);
  });

  it.each([
    ['application/x-ndjson', '{"path": ["a", "b"]}\nnot json\n', 'line.2'],
    ['application/x-ndjson', '{"path": []}\n', 'line.1'],
    ['application/x-ndjson', '{"path": ["a", "b"]}\n{"path": ["z", "b"]}\n', 'line.2'],
    ['application/json', { nodes: { '0': { id: 0, topic: 'a', children: [7] } }, root_id: 0 }, 'nodes.0.children'],
    ['application/json', { nodes: { '0': { id: 0, topic: 'a' } }, root_id: 3 }, 'root_id'],
    ['application/json', { nodes: [], root_id: 0 }, 'nodes'],
    ['application/json', { nodes: { '0': { id: 0, topic: '' } }, root_id: 0 }, 'nodes.0.topic'],
  ])('rejects a malformed %s import, naming the field', async (type, body, field) => {
    const res = await request(h.url).post('/v1/topics/import').set('content-type', type).send(typeof body === 'string' ? body : JSON.stringify(body)).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toContain(field);
  });

  it('404s an unknown topics id and 400s a malformed one', async () => {
    await request(h.url).get('/v1/topics/tp_000000000000000000000000').expect(404);
    await request(h.url).get('/v1/topics/nope').expect(400);
  });
});
