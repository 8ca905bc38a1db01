import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePhagocyteTables } from './support/lancedb-fixture.js';
import { startHarness, type Harness } from './support/harness.js';

describe('generate sources: LanceDB chunk tables and datasets', () => {
  let h: Harness;
  const root = mkdtempSync(join(tmpdir(), 'quarry-lance-root-'));
  const uri = join(root, 'phagocyte.lance');
  const outside = mkdtempSync(join(tmpdir(), 'quarry-lance-outside-'));

  beforeAll(async () => {
    mkdirSync(uri, { recursive: true });
    await writePhagocyteTables(uri);
    await writePhagocyteTables(outside);
    symlinkSync(outside, join(root, 'escape'));
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 }, env: { LANCEDB_ROOTS: root } });
  });
  afterAll(() => h?.close());

  const generate = (body: Record<string, unknown>) => request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send(body);
  const records = async (datasetId: string) => (await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  it('reads text and code tables into one dataset, code chunks with the code prompt', async () => {
    h.fake.reset();
    const run = (await generate({ lancedb: { uri, tables: ['text_chunks', 'code_chunks'] }, n_pairs: 2 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 5, records: 10 }, output: { report: { chunks: 5, chunks_used: 5, code_chunks_used: 2 } } });
    const data = await records(run.output.dataset_id);
    expect(new Set(data.map((r: any) => r.chunk_id))).toEqual(new Set(['t1', 't2', 't3', 'c1', 'c2']));
    expect(data.find((r: any) => r.chunk_id === 't3').source).toBe('docs/config.md');
    expect(data.find((r: any) => r.chunk_id === 'c1').source).toBe('src/queue.py');

    const prompts = h.fake.requests().map((r) => (r.body as any).messages);
    const codeCalls = prompts.filter((m) => m[0].content.includes('codebase'));
    expect(codeCalls).toHaveLength(2);
    expect(codeCalls.map((m) => m.at(-1).content).join('\n')).toContain('Symbol: claim_tasks (python)');
    const textCalls = prompts.filter((m) => !m[0].content.includes('codebase'));
    expect(textCalls).toHaveLength(3);
    expect(textCalls.map((m) => m.at(-1).content).join('\n')).toContain('Section: Install > Linux');
  });

  it('filters rows with where and caps them with max_chunks', async () => {
    const filtered = (await generate({ lancedb: { uri, tables: ['text_chunks'], where: "source_file = 'docs/install.md'" }, n_pairs: 1 }).expect(200)).body.run;
    expect((await records(filtered.output.dataset_id)).map((r: any) => r.chunk_id).sort()).toEqual(['t1', 't2']);
    const capped = (await generate({ lancedb: { uri, tables: ['text_chunks', 'code_chunks'], max_chunks: 4 }, n_pairs: 1 }).expect(200)).body.run;
    expect(capped.progress.total).toBe(4);
  });

  it('generates from the records of an imported dataset', async () => {
    const imported = await request(h.url)
      .post('/v1/datasets')
      .send({ name: 'chunks', records: [{ id: 'k1', content: 'Quarry exports ChatML.', source_file: 'a.md' }, { text: 'Runs stream over SSE.', section_path: 'Runs > Events' }] })
      .expect(201);
    const run = (await generate({ dataset_id: imported.body.dataset.id, task: 'cot', n_pairs: 1 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { records: 2 } });
    const data = await records(run.output.dataset_id);
    expect(data.map((r: any) => r.chunk_id)).toEqual(['k1', 'import#1']);
    expect(data.map((r: any) => r.source)).toEqual(['a.md', 'chunks']);
  });

  it.each([
    [{ lancedb: { uri: outside, tables: ['text_chunks'] } }, 'lancedb.uri', 'not under an allowed root'],
    [{ lancedb: { uri: join(root, 'escape'), tables: ['text_chunks'] } }, 'lancedb.uri', 'not under an allowed root'],
    [{ lancedb: { uri: join(root, 'missing'), tables: ['text_chunks'] } }, 'lancedb.uri', 'does not exist'],
    [{ lancedb: { uri: 's3://bucket/db', tables: ['text_chunks'] } }, 'lancedb.uri', 'local directory'],
    [{ lancedb: { uri, tables: ['text_chunks', 'nope'] } }, 'lancedb.tables.1', 'no table "nope"'],
    [{ lancedb: { uri, tables: ['no_content'] } }, 'lancedb.tables.0', 'no content column'],
    [{ lancedb: { uri, tables: ['text_chunks'], where: 'no_such_column = 1' } }, 'lancedb.where', 'rejected the filter'],
    [{ lancedb: { uri, tables: [] } }, 'lancedb.tables', ''],
    [{ lancedb: { uri, tables: ['text_chunks'], extra: 1 } }, 'lancedb.extra', ''],
    [{ lancedb: { uri, tables: ['text_chunks'] }, min_chunk_size: 100 }, 'min_chunk_size', 'only applies to markdown'],
    [{ lancedb: { uri, tables: ['text_chunks'], max_chunks: 2 }, max_chunks: 2 }, 'lancedb.max_chunks', 'not both'],
    [{ lancedb: { uri, tables: ['text_chunks'] }, documents: [{ name: 'a', text: 'b' }] }, 'lancedb', 'one source'],
    [{ n_pairs: 1 }, 'documents', 'one source'],
    [{ dataset_id: 'ds_000000000000000000000000' }, 'dataset_id', 'no dataset'],
    [{ dataset_id: 'not-an-id' }, 'dataset_id', ''],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await generate(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });

  it('rejects a dataset whose records have nothing to generate from', async () => {
    const imported = await request(h.url).post('/v1/datasets').send([{ question: 'q?', answer: 'a' }]).expect(201);
    const res = await generate({ dataset_id: imported.body.dataset.id }).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'dataset_id' });
    expect(res.body.error.message).toContain('1 records have no content or text');
  });
});

describe('chunk selection strategies', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  // Each part above min_chunk_size (200 characters), so each is a chunk of its own.
  const doc = { name: 'many.md', text: Array.from({ length: 12 }, (_, i) => `## Part ${i + 1}\n\n${`Part ${i + 1} explains topic ${i + 1} in some detail. `.repeat(6)}`).join('\n\n') };
  const sampled = async (strategy: Record<string, unknown>) =>
    (await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [doc], n_pairs: 1, strategy }).expect(200)).body.run;

  it('random sampling writes one dataset per sample, reproducible by seed', async () => {
    const a = await sampled({ type: 'random', num_samples: 3, chunks_per_sample: 4, seed: 7 });
    const b = await sampled({ type: 'random', num_samples: 3, chunks_per_sample: 4, seed: 7 });
    const c = await sampled({ type: 'random', num_samples: 3, chunks_per_sample: 4, seed: 8 });
    expect(a).toMatchObject({ status: 'succeeded', progress: { total: 12, records: 12 } });
    const chunksOf = (run: any) => run.output.report.samples.map((s: any) => s.chunk_ids);
    expect(chunksOf(a)).toEqual(chunksOf(b));
    expect(chunksOf(a)).not.toEqual(chunksOf(c));
    // Without replacement the samples are disjoint.
    expect(new Set(chunksOf(a).flat()).size).toBe(12);
    expect(Object.keys(a.output.datasets).sort()).toEqual(['sample_1', 'sample_2', 'sample_3']);
    for (const [i, sample] of a.output.report.samples.entries()) {
      const records = (await request(h.url).get(`/v1/datasets/${sample.dataset_id}/records`).expect(200)).body.records;
      expect(records.map((r: any) => r.data.chunk_id).sort()).toEqual([...sample.chunk_ids].sort());
      expect(a.output.datasets[`sample_${i + 1}`]).toBe(sample.dataset_id);
    }
  });

  it('with replacement lets samples share chunks', async () => {
    const run = await sampled({ type: 'random', num_samples: 4, chunks_per_sample: 10, seed: 1, with_replacement: true });
    expect(run.status).toBe('succeeded');
    expect(run.progress.records).toBe(40);
    expect(new Set(run.output.report.samples.flatMap((s: any) => s.chunk_ids)).size).toBeLessThan(40);
  });

  it('sequential is the default: every chunk, one dataset', async () => {
    const run = await sampled({ type: 'sequential' });
    expect(run.progress.total).toBe(12);
    expect(run.output.datasets).toBeUndefined();
  });

  it.each([
    [{ type: 'random', num_samples: 0, chunks_per_sample: 2 }, 'strategy'],
    [{ type: 'shuffle' }, 'strategy'],
    [{ type: 'random', num_samples: 2 }, 'strategy'],
  ])('rejects strategy %j', async (strategy, field) => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [doc], strategy }).expect(400);
    expect(res.body.error.details.map((d: any) => d.field.split('.')[0])).toContain(field);
  });

  it('rejects max_chunks with a random strategy', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [doc], max_chunks: 2, strategy: { type: 'random', num_samples: 1, chunks_per_sample: 2 } }).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'max_chunks' });
  });
});
