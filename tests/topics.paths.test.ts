import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../services/limits.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

/** 3 KB of graph JSON with 2^layers root → leaf paths: `layers` layers of two nodes, each linked to both below. */
function ladder(layers: number) {
  const nodes: Record<string, { id: number; topic: string; children: number[] }> = { '0': { id: 0, topic: 'root', children: [1, 2] } };
  for (let l = 0; l < layers; l++) {
    for (const k of [1, 2]) {
      const id = l * 2 + k;
      nodes[id] = { id, topic: `layer ${l} node ${k}`, children: l + 1 < layers ? [l * 2 + 3, l * 2 + 4] : [] };
    }
  }
  return { nodes, root_id: 0 };
}

describe.each(DATABASES)('topic paths are listed up to a bound and counted, never enumerated in full (%s)', (db) => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
    const body = JSON.stringify(ladder(24));
    expect(body.length).toBeLessThan(4096);
    id = (await request(h.url).post('/v1/topics/import').set('content-type', 'application/json').send(body).expect(201)).body.topics.id;
  });
  afterAll(() => h?.close());

  const get = async (query = '') => JSON.parse((await request(h.url).get(`/v1/topics/${id}${query}`).expect(200)).text).topics;

  it('GET lists the first paths_limit paths of a 2^24-path ladder and counts all of them', async () => {
    const topics = await get();
    expect(topics).toMatchObject({ node_count: 49, path_count: 2 ** 24, paths_truncated: true });
    expect(topics.paths).toHaveLength(LIMITS.pathsDefault);
    expect(topics.paths.every((p: string[]) => p.length === 25 && p[0] === 'root')).toBe(true);
    expect(new Set(topics.paths.map((p: string[]) => p.join('/'))).size).toBe(LIMITS.pathsDefault);
    expect(topics.edges).toHaveLength(2 + 23 * 4);
  });

  it('takes paths_limit, bounded, and says when the listing is complete', async () => {
    expect((await get('?paths_limit=7')).paths).toHaveLength(7);
    expect((await get('?paths_limit=0')).paths).toEqual([]);
    const res = await request(h.url).get(`/v1/topics/${id}?paths_limit=${LIMITS.pathsMax + 1}`).expect(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain('paths_limit');
    const small = (await request(h.url).post('/v1/topics/import').send(ladder(3)).expect(201)).body.topics.id;
    const all = JSON.parse((await request(h.url).get(`/v1/topics/${small}`).expect(200)).text).topics;
    expect(all).toMatchObject({ path_count: 8, paths_truncated: false });
    expect(all.paths).toHaveLength(8);
  });

  it('exports the tree file of a ladder up to paths_limit and says it stopped short', async () => {
    const res = await request(h.url).get(`/v1/topics/${id}?format=jsonl&paths_limit=5`).expect(200);
    expect(res.text.trim().split('\n')).toHaveLength(5);
    expect(res.headers['x-paths-truncated']).toBe('true');
    expect(res.headers['x-path-count']).toBe(String(2 ** 24));
    const graphFile = JSON.parse((await request(h.url).get(`/v1/topics/${id}?format=graph`).expect(200)).text);
    expect(Object.keys(graphFile.nodes)).toHaveLength(49);
  });

  it('generates from the ladder with one sample per node, found without listing its paths', async () => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=60').send({ topics_id: id, task: 'qa' }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 48 }, output: { report: { unique_topics: 48, samples: 48 } } });
    const records = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records?limit=100`).expect(200)).body.records.map((r: any) => r.data);
    // Each node's shortest path: the root, then one node per layer down to it.
    const deepest = records.filter((r: any) => r.topic_path.at(-1).startsWith('layer 23 '));
    expect(deepest).toHaveLength(2);
    expect(deepest.every((r: any) => r.topic_path.length === 25)).toBe(true);
  });
});
