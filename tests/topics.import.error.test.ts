import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { LIMITS } from '../services/limits.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const node = (id: number, topic: string, children: unknown = [], metadata?: Record<string, unknown>) => ({ id, topic, children, ...(metadata ? { metadata } : {}) });
const graph = (...nodes: Array<ReturnType<typeof node>>) => ({ nodes: Object.fromEntries(nodes.map((n) => [String(n.id), n])), root_id: 0 });

// [label, graph JSON, field named in details]
const MALFORMED_GRAPHS: Array<[string, unknown, string]> = [
  ['children a number', graph(node(0, 'root', 5)), 'nodes.0.children'],
  ['children a string', graph(node(0, 'root', '1')), 'nodes.0.children'],
  ['a child id not in nodes', graph(node(0, 'root', [1, 9]), node(1, 'a')), 'nodes.0.children'],
  ['a child that is not an integer', graph(node(0, 'root', [1.5]), node(1, 'a')), 'nodes.0.children'],
  ['two nodes with the same id', { nodes: { '0': node(0, 'root', [1]), '1': node(1, 'a'), '2': node(1, 'b') }, root_id: 0 }, 'nodes.2.id'],
  ['a node id that is not an integer', { nodes: { '0': node(0, 'root', [1]), '1': { id: '1', topic: 'a' } }, root_id: 0 }, 'nodes.1.id'],
  ['two nodes with the same metadata.uuid', graph(node(0, 'root', [1, 2]), node(1, 'a', [], { uuid: 'same' }), node(2, 'b', [], { uuid: 'same' })), 'nodes.2.metadata.uuid'],
  ['a uuid equal to another node’s derived id', graph(node(0, 'root', [1, 2]), node(1, 'a', [], { uuid: 'n2' }), node(2, 'b')), 'nodes.2.id'],
  ['a uuid that is not a string', graph(node(0, 'root', [1]), node(1, 'a', [], { uuid: 7 })), 'nodes.1.metadata.uuid'],
  ['a cycle back to an ancestor', graph(node(0, 'root', [1]), node(1, 'a', [2]), node(2, 'b', [1])), 'nodes.2.children'],
  ['a link back to the root', graph(node(0, 'root', [1]), node(1, 'a', [0])), 'nodes.1.children'],
  ['an unreachable node', graph(node(0, 'root', [1]), node(1, 'a'), node(2, 'lost')), 'nodes.2'],
  ['a node that is not an object', { nodes: { '0': node(0, 'root', [1]), '1': 'a' }, root_id: 0 }, 'nodes.1'],
  ['a topic over the length bound', graph(node(0, 'root', [1]), node(1, 'x'.repeat(LIMITS.topicChars + 1))), 'nodes.1.topic'],
  ['a node too deep below the root', graph(...Array.from({ length: LIMITS.importPathLength + 1 }, (_, i) => node(i, `t${i}`, i < LIMITS.importPathLength ? [i + 1] : []))), `nodes.${LIMITS.importPathLength}`],
  ['metadata not an object', { ...graph(node(0, 'root')), metadata: 'x' }, 'metadata'],
  ['metadata over its size bound', { ...graph(node(0, 'root')), metadata: { notes: 'x'.repeat(LIMITS.importMetadataBytes) } }, 'metadata'],
];

describe.each(DATABASES)('POST /v1/topics/import: malformed and hostile files (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  const count = async (table: 'topics' | 'datasets' | 'records') => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from ${sql.identifier(table)}`))[0].n;
  const importJsonText = (text: string) => request(h.url).post('/v1/topics/import').set('content-type', 'application/json').send(text);
  const importJson = (body: unknown) => importJsonText(JSON.stringify(body));
  const importJsonl = (text: string) => request(h.url).post('/v1/topics/import').set('content-type', 'application/x-ndjson').send(text);

  it.each(MALFORMED_GRAPHS)('%s → 400 naming the node, nothing stored', async (_label, body, field) => {
    const before = await Promise.all([count('topics'), count('datasets'), count('records')]);
    const res = await importJson(body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await Promise.all([count('topics'), count('datasets'), count('records')])).toEqual(before);
  });

  it('accepts tree JSONL and graph JSON that start with a UTF-8 byte order mark', async () => {
    const tree = await importJsonl('\uFEFF{"path": ["Cooking", "Bread"]}\n{"path": ["Cooking", "Soup"]}\n').expect(201);
    expect(tree.body.topics).toMatchObject({ mode: 'tree', prompt: 'Cooking' });
    const res = await importJsonText(`\uFEFF${JSON.stringify(graph(node(0, 'Security', [1]), node(1, 'TLS')))}`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.topics).toMatchObject({ mode: 'graph', prompt: 'Security' });
  });

  it('never lets a graph’s metadata override id, mode, prompt or source, in the import, GET and the list', async () => {
    const hostile = { id: 'tp_ffffffffffffffffffffffff', mode: 'tree', prompt: 'spoofed', source: 'spoofed', dataset_id: 'ds_x', links: { self: '/evil' } };
    const res = await importJson({ ...graph(node(0, 'Real root', [1]), node(1, 'a')), metadata: { ...hostile, model: 'gpt-x', provider: 'vllm' } }).expect(201);
    const imported = res.body.topics;
    expect(imported).toMatchObject({ mode: 'graph', prompt: 'Real root', source: 'deepfabric-graph-json', model: 'gpt-x', provider: 'vllm', links: { self: `/v1/topics/${imported.id}` } });
    expect(imported.id).toMatch(/^tp_[0-9a-f]{24}$/);
    expect(imported.id).not.toBe(hostile.id);
    // The file's metadata is kept, beside what Quarry says, not over it.
    expect(imported.metadata).toMatchObject(hostile);
    const got = JSON.parse((await request(h.url).get(`/v1/topics/${imported.id}`).expect(200)).text).topics;
    expect(got).toMatchObject({ id: imported.id, mode: 'graph', prompt: 'Real root', source: 'deepfabric-graph-json', dataset_id: imported.dataset_id });
    const listed = (await request(h.url).get('/v1/topics?limit=200').expect(200)).body.topics.find((t: { id: string }) => t.id === imported.id);
    expect(listed).toMatchObject({ id: imported.id, mode: 'graph', prompt: 'Real root', source: 'deepfabric-graph-json' });
  });

  it('refuses a 20,000-topic tree path at once, naming the line, and imports one at the bound', async () => {
    const deep = JSON.stringify({ path: ['root', ...Array.from({ length: 19_999 }, (_, i) => `topic ${i}`)] });
    const res = await importJsonl(`{"path": ["root", "a"]}\n${deep}\n`).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'line.2', message: expect.stringContaining(`at most ${LIMITS.importPathLength}`) });
    const longest = Array.from({ length: LIMITS.importPathLength }, (_, i) => (i === 0 ? 'root' : `topic ${i}`));
    const ok = (await importJsonl(`${JSON.stringify({ path: longest })}\n`).expect(201)).body.topics;
    const got = JSON.parse((await request(h.url).get(`/v1/topics/${ok.id}`).expect(200)).text).topics;
    expect(got).toMatchObject({ node_count: LIMITS.importPathLength, path_count: 1, paths_truncated: false });
    expect(got.paths).toEqual([longest]);
  });

  it('refuses a tree with more topics than the bound, naming the line that crossed it', async () => {
    const lines = Array.from({ length: LIMITS.importNodes }, (_, i) => JSON.stringify({ path: ['root', `t${i}`] })).join('\n');
    const res = await importJsonl(lines).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: `line.${LIMITS.importNodes}`, message: expect.stringContaining('more than') });
  });

  it('refuses tree lines whose topics are too long or not strings, naming the line', async () => {
    for (const [text, field] of [
      ['{"path": ["root", 5]}\n', 'line.1'],
      [`{"path": ["root"]}\n{"path": ["root", "${'x'.repeat(LIMITS.topicChars + 1)}"]}\n`, 'line.2'],
    ] as const) {
      const res = await importJsonl(text).expect(400);
      expect(res.body.error.details[0].field).toBe(field);
    }
  });
});
