import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { insertRun } from '../db/runs.repository.js';
import { LIMITS } from '../services/limits.js';
import { newId } from '../src/ids.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 7, item 2: every size a caller chooses is bounded before any work — a 400 naming the field,
 * nothing queued — and what used to crash or block the process (a huge percentage, a pathological
 * split, a quadratic YAML or markdown line) is answered at once.
 */
const fmt = (n: number) => n.toLocaleString('en-US');

/** Reads a run's event stream until its terminal event, and returns that event's type. */
async function terminalEvent(url: string): Promise<string> {
  const res = await fetch(url);
  let text = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += Buffer.from(chunk).toString();
    const m = /event: (run\.(?:succeeded|failed|canceled))\n/.exec(text);
    if (m) {
      await res.body?.cancel().catch(() => {});
      return m[1];
    }
  }
  return 'stream ended without a terminal event';
}
/** `chars` of one-letter words: at max 100 / min 99 / overlap 98 each piece overlaps the last from its second word on, two characters further. */
const denseDocument = (chars: number) => ({ name: 'dense.md', text: 'a '.repeat(Math.ceil(chars / 2)) });
const dense = { max_chunk_size: 100, min_chunk_size: 99, overlap: 98, n_pairs: 1 };
const seeds = (n: number) => Array.from({ length: n }, (_, i) => ({ document: `# Doc ${i}\n\nFacts about ${i}.` }));
const yamlKeys = (keys: number) => `topics:\n  prompt: x\n${Array.from({ length: keys }, (_, i) => `  k${i}: ${i}`).join('\n')}\n`;

// [label, route, body, field named in details]
const CASES: Array<[string, string, unknown, string]> = [
  ['num_samples "10000000000%"', '/v1/generate', { topics: [['a', 'b']], num_samples: '10000000000%' }, 'num_samples'],
  ['num_samples with a 30-digit percentage', '/v1/generate', { topics: [['a', 'b']], num_samples: `1${'0'.repeat(30)}%` }, 'num_samples'],
  ['num_samples above the integer bound', '/v1/generate', { topics: [['a', 'b']], num_samples: LIMITS.numSamples + 1 }, 'num_samples'],
  ['num_samples whose prompts would fill GBs of tasks', '/v1/generate', { topics: [['a', 'b']], num_samples: LIMITS.numSamples, system_prompt: 's'.repeat(20_000), instructions: 'i'.repeat(20_000) }, 'num_samples'],
  ['max_chunk_size 2', '/v1/generate', { documents: [markdownDoc('a.md', 2)], max_chunk_size: 2, min_chunk_size: 1, overlap: 0 }, 'max_chunk_size'],
  ['max_chunks above the task bound', '/v1/generate', { documents: [markdownDoc('a.md', 2)], max_chunks: LIMITS.tasksPerRun + 1 }, 'max_chunks'],
  ['a split into more chunks than the source bound', '/v1/generate', { documents: [denseDocument(2 * LIMITS.sourceChunks + 10_000)], ...dense }, 'max_chunk_size'],
  ['a split into more tasks than the run bound', '/v1/generate', { documents: [denseDocument(2 * LIMITS.tasksPerRun + 20_000)], ...dense }, 'max_chunk_size'],
  ['random samples over the task bound', '/v1/generate', { documents: [markdownDoc('a.md', 101)], strategy: { type: 'random', num_samples: 1000, chunks_per_sample: 101, with_replacement: true } }, 'strategy.num_samples'],
  ['knowledge flows over the task bound', '/v1/generate', { task: 'knowledge', seed_records: seeds(900), summaries_per_document: 50 }, 'summaries_per_document'],
  ['a tree of degree^depth over the leaf bound', '/v1/topics', { prompt: 'x', degree: 50, depth: 4 }, 'depth'],
  ['a pipeline tree of degree^depth over the leaf bound', '/v1/pipelines', { topics: { prompt: 'x', degree: 50, depth: 3 } }, 'topics.depth'],
  ['a pipeline whose generate percentage is unbounded', '/v1/pipelines', { topics: { prompt: 'x', degree: 2, depth: 2 }, generate: { task: 'qa', num_samples: '10000000000%' } }, 'generate.num_samples'],
  ['a pipeline whose "auto" can exceed the sample bound', '/v1/pipelines', { topics: { prompt: 'x', mode: 'graph', degree: 10, depth: 5 }, generate: { task: 'qa', num_samples: 'auto' } }, 'generate.num_samples'],
];

// [label, query string, YAML, field]
const YAML_CASES: Array<[string, string, string, string]> = [
  ['the ?num_samples=10000000000% override', '?num_samples=10000000000%25', 'topics:\n  prompt: Python\n  mode: tree\n', 'num_samples'],
  ['a ?num_samples= count over the bound', `?num_samples=${LIMITS.numSamples + 1}`, 'topics:\n  prompt: Python\n  mode: tree\n', 'num_samples'],
  ['a ?num_steps= override over the bound', '?num_steps=1000000&batch_size=1000', 'topics:\n  prompt: Python\n  mode: tree\n', 'num_steps'],
  ['a config with 50,000 keys', '', yamlKeys(50_000), 'body'],
  ['a config with more tokens than the bound, under the size bound', '', yamlKeys(1500), 'body'],
  ['a config over the size bound', '', `topics:\n  prompt: "${'x'.repeat(LIMITS.yamlBytes)}"\n`, 'body'],
  ['aliases expanding exponentially', '', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ntopics:\n  prompt: x\n`, 'body'],
];

describe.each(DATABASES)('sizes a caller chooses are bounded before any work (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
  });
  afterAll(() => h?.close());

  const count = async (table: 'runs' | 'tasks') => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from ${sql.identifier(table)}`))[0].n;
  async function expectRefused(res: request.Response, field: string) {
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { field: string }) => d.field), JSON.stringify(res.body).slice(0, 500)).toContain(field);
  }

  it.each(CASES)('%s → 400 naming the field, nothing queued', async (_label, route, body, field) => {
    const before = [await count('runs'), await count('tasks')];
    await expectRefused(await request(h.url).post(route).send(body as object), field);
    expect([await count('runs'), await count('tasks')]).toEqual(before);
  });

  it.each(YAML_CASES)('DeepFabric: %s → 400, nothing queued', async (_label, query, yaml, field) => {
    const before = [await count('runs'), await count('tasks')];
    await expectRefused(await request(h.url).post(`/v1/pipelines${query}`).set('content-type', 'application/yaml').send(yaml), field);
    expect([await count('runs'), await count('tasks')]).toEqual(before);
  });

  it('bounds "N%" of an imported tree by the resulting count, naming num_samples', async () => {
    const lines = Array.from({ length: 1001 }, (_, i) => JSON.stringify({ path: ['root', `t${i}`] })).join('\n');
    const tree = (await request(h.url).post('/v1/topics/import').set('content-type', 'application/x-ndjson').send(lines).expect(201)).body.topics;
    const res = await request(h.url).post('/v1/generate').send({ topics_id: tree.id, num_samples: `${LIMITS.samplePercent}%` });
    await expectRefused(res, 'num_samples');
    expect(res.body.error.message).toContain(`${fmt(100_100)} samples; at most ${fmt(LIMITS.numSamples)}`);
  });

  it('answers a markdown header line of 200,000 spaces and a 100,000-backtick fence line at once (no regex backtracking)', async () => {
    const text = `# Title${' '.repeat(200_000)}x\n\nBody text of the section.\n\n${'`'.repeat(100_000)}\u2028\n\nMore text.`;
    const run = (await request(h.url).post('/v1/generate').send({ documents: [{ name: 'odd.md', text }], n_pairs: 1, max_chunks: 1 }).expect(202)).body.run;
    expect(run.progress.total).toBe(1);
  });

  it('fails a pipeline queued without these checks (as before the fix) instead of crashing the worker on it', async () => {
    const id = newId('run');
    const generate = { topics: [['Postgres', 'Vacuum']], task: 'qa', num_samples: '10000000000%' };
    await insertRun(h.quarry.database.db, {
      id, owner: '', kind: 'pipeline', spec: { generate }, output: { report: { stages: ['generate'] } }, datasets: [], total: 2,
      tasks: [{ key: 'stage:0', kind: 'pipeline.advance', payload: { stage: 0, generate } }],
    });
    expect(await terminalEvent(`${h.url}/v1/runs/${id}/events`)).toBe('run.failed');
    const run = (await request(h.url).get(`/v1/runs/${id}`).expect(200)).body.run;
    expect(run.status).toBe('failed');
    expect(JSON.stringify(run.error)).toContain('num_samples');
    // The service kept serving and working.
    const ok = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ topics: [['a', 'b']], num_samples: 2, task: 'qa' }).expect(200)).body.run;
    expect(ok.status).toBe('succeeded');
  });
});

describe.each(DATABASES)('enrich and curate bound their batches by the task bound (%s)', (db) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db });
    const lines = Array.from({ length: LIMITS.tasksPerRun + 1 }, (_, i) => JSON.stringify({ question: `Q${i}?`, answer: `A${i}` })).join('\n');
    datasetId = (await request(h.url).post('/v1/datasets?name=big').set('content-type', 'application/x-ndjson').send(lines).expect(201)).body.dataset.id;
  }, 300_000);
  afterAll(() => h?.close());

  it.each(['/v1/enrich', '/v1/curate'])('%s with batch_size 1 over 100,001 records → 400 naming batch_size, nothing queued', async (route) => {
    const res = await request(h.url).post(route).send({ dataset_id: datasetId, batch_size: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'batch_size', message: expect.stringContaining(`at most ${fmt(LIMITS.tasksPerRun)}`) });
    expect((await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from tasks`))[0].n).toBe(0);
  }, 120_000);
});
