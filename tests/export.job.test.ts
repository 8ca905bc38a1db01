import { parquetReadObjects } from 'hyparquet';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };

/** 48 QA records: 40 from 10 sources of 2 chunks each (2 paraphrases per chunk, as a generator writes them), 8 with no source. */
const records = [
  ...Array.from({ length: 40 }, (_, i) => ({
    question: `Question ${i} about subject ${i % 10}: how does part ${i} of the queue behave under load?`,
    answer: `Answer ${i}: it leases work, heartbeats and retries with jitter (case ${i}, ünïcode ✓).`,
    source: `doc-${i % 10}.md`,
    chunk_id: `doc-${i % 10}_c${Math.floor(i / 10) % 2}`,
  })),
  ...Array.from({ length: 8 }, (_, i) => ({ question: `Standalone question ${i}: why page by key?`, answer: `Because offsets drift (${i}).` })),
];

async function importDataset(h: Harness, name: string, rs: unknown[]) {
  return (await request(h.url).post('/v1/datasets').set(A).send({ name, records: rs }).expect(201)).body.dataset.id as string;
}
const exportRun = (h: Harness, body: Record<string, unknown>, auth = A) => request(h.url).post('/v1/export').set(auth).set('Prefer', 'wait=60').send(body);
async function download(h: Harness, path: string, auth = A): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`${h.url}${path}`, { headers: auth });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}
const fileUrl = (id: string, path: string) => `/v1/exports/${id}/files/${encodeURIComponent(path)}`;
const frontMatter = (card: string) => parseYaml(card.split('---\n')[1]);

/** A ustar archive read by hand: name → bytes. */
function untar(tar: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.subarray(at, at + 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('utf8').replace(/\0.*$/s, ''), 8);
    out.set(name, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Which split each question landed in, reading every parquet file with hyparquet (an independent reader). */
async function parquetSplits(h: Harness, id: string, files: any[]) {
  const bySplit = new Map<string, any[]>();
  for (const f of files.filter((f) => f.path.endsWith('.parquet'))) {
    const { bytes } = await download(h, fileUrl(id, f.path));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    const file = new ArrayBuffer(bytes.length);
    new Uint8Array(file).set(bytes);
    const rows = await parquetReadObjects({ file });
    expect(rows).toHaveLength(f.rows);
    bySplit.set(f.split, [...(bySplit.get(f.split) ?? []), ...rows]);
  }
  return bySplit;
}

/** How many splits each group's records landed in. */
function splitsPer(bySplit: Map<string, any[]>, group: (r: any) => string | undefined): number[] {
  const where = new Map<string, Set<string>>();
  for (const [name, rows] of bySplit) for (const r of rows) {
    const g = group(r);
    if (g) where.set(g, (where.get(g) ?? new Set()).add(name));
  }
  return [...where.values()].map((s) => s.size);
}

describe.each(DATABASES)('POST /v1/export (%s)', (db) => {
  let h: Harness;
  let forward: string;
  let reversed: string;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' } });
    forward = await importDataset(h, 'qa-forward', records);
    reversed = await importDataset(h, 'qa-reversed', [...records].reverse());
  });
  afterAll(() => h?.close());
  const split = { train: 0.6, validation: 0.2, test: 0.2 };

  it('writes a grouped, seeded 3-way Parquet split whose counts match the card, read back by hyparquet', async () => {
    const run = (await exportRun(h, { dataset_ids: [forward], format: 'parquet', split, license: 'apache-2.0' }).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'export', status: 'succeeded' });
    const { files } = (await request(h.url).get(`/v1/exports/${run.id}`).set(A).expect(200)).body;
    const card = (await download(h, fileUrl(run.id, 'README.md'))).bytes.toString('utf8');
    const yaml = frontMatter(card);
    expect(yaml.license).toBe('apache-2.0');
    const bySplit = await parquetSplits(h, run.id, files);
    // Row counts per split match the card's YAML, and the card's data files are the files written.
    for (const s of yaml.dataset_info.splits) expect(bySplit.get(s.name)).toHaveLength(s.num_examples);
    expect(yaml.dataset_info.splits.reduce((a: number, s: any) => a + s.num_examples, 0)).toBe(records.length);
    const paths = yaml.configs[0].data_files.flatMap((d: any) => d.path).sort();
    expect(paths).toEqual(files.filter((f: any) => f.split).map((f: any) => f.path).sort());
    expect(bySplit.size).toBe(3);
    // Every record exactly once, values as imported; the records of one chunk in one split.
    const seen = [...bySplit.values()].flat();
    expect(seen.map((r) => r.question).sort()).toEqual(records.map((r) => r.question).sort());
    for (const r of seen) expect(r.answer).toBe(records.find((x) => x.question === r.question)!.answer);
    expect(splitsPer(bySplit, (r) => r.chunk_id).every((n) => n === 1)).toBe(true);
    // By chunk (the default), one document's chunks may go to different splits.
    expect(splitsPer(bySplit, (r) => r.source).some((n) => n > 1)).toBe(true);
    // The same records in another order give the same split.
    const again = (await exportRun(h, { dataset_ids: [reversed], format: 'parquet', split }).expect(200)).body.run;
    const otherFiles = (await request(h.url).get(`/v1/exports/${again.id}`).set(A).expect(200)).body.files;
    const other = await parquetSplits(h, again.id, otherFiles);
    const where = (m: Map<string, any[]>) => Object.fromEntries([...m].flatMap(([name, rows]) => rows.map((r) => [r.question, name])));
    expect(where(other)).toEqual(where(bySplit));
    // Another seed moves groups.
    const seeded = (await exportRun(h, { dataset_ids: [forward], format: 'parquet', split, seed: 7 }).expect(200)).body.run;
    const seededSplits = await parquetSplits(h, seeded.id, (await request(h.url).get(`/v1/exports/${seeded.id}`).set(A)).body.files);
    expect(where(seededSplits)).not.toEqual(where(bySplit));
  });

  it('group_by source keeps each document whole in one split, and the card says how it grouped', async () => {
    const run = (await exportRun(h, { dataset_ids: [forward], format: 'parquet', split, group_by: 'source' }).expect(200)).body.run;
    const { files } = (await request(h.url).get(`/v1/exports/${run.id}`).set(A).expect(200)).body;
    const bySplit = await parquetSplits(h, run.id, files);
    const perSource = splitsPer(bySplit, (r) => r.source);
    expect(perSource).toHaveLength(10);
    expect(perSource.every((n) => n === 1)).toBe(true);
    expect((await download(h, fileUrl(run.id, 'README.md'))).bytes.toString('utf8')).toContain('Grouped by source document');
    expect(run.output.report.group_by).toBe('source');
  });

  it('writes JSONL in a chat format, sharded by size, and the archive holds every file', async () => {
    const run = (await exportRun(h, { dataset_ids: [forward], format: 'chatml', split: { train: 0.5, test: 0.5 }, max_shard_bytes: 1024 }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const { files } = (await request(h.url).get(`/v1/exports/${run.id}`).set(A).expect(200)).body;
    const train = files.filter((f: any) => f.split === 'train');
    expect(train.length).toBeGreaterThan(1);
    train.forEach((f: any, i: number) => expect(f.path).toBe(`data/train-${String(i).padStart(5, '0')}-of-${String(train.length).padStart(5, '0')}.jsonl`));
    const tar = untar((await download(h, `/v1/exports/${run.id}/archive`)).bytes);
    expect([...tar.keys()].sort()).toEqual(files.map((f: any) => f.path).sort());
    let lines = 0;
    for (const f of files) {
      expect(createHash('sha256').update(tar.get(f.path)!).digest('hex')).toBe(f.sha256);
      if (!f.split) continue;
      const rows = tar.get(f.path)!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(rows).toHaveLength(f.rows);
      for (const r of rows) expect(r.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);
      lines += rows.length;
    }
    expect(lines).toBe(records.length);
    const yaml = frontMatter(tar.get('README.md')!.toString('utf8'));
    expect(yaml.dataset_info.splits.map((s: any) => s.num_examples).reduce((a: number, b: number) => a + b, 0)).toBe(records.length);
  });

  it('streams its progress like any run', async () => {
    const started = (await request(h.url).post('/v1/export').set(A).send({ dataset_ids: [forward, reversed], format: 'jsonl' }).expect(202)).body.run;
    expect(started.links.files).toBe(`/v1/exports/${started.id}`);
    const { events } = await readSse(`${h.url}/v1/runs/${started.id}/events`, A, { until: (e) => e.type === 'run.succeeded' || e.type === 'run.failed' });
    const types = events.map((e) => e.type);
    expect(types).toContain('export.completed');
    expect(types.at(-1)).toBe('run.succeeded');
    const done = events.find((e) => e.type === 'export.completed')!;
    expect(JSON.stringify(done.data)).toContain(`"train":${records.length * 2}`);
  });

  it('skips and counts the records a format refuses, as the streaming export does', async () => {
    const toolCall = { messages: [{ role: 'user', content: 'Weather in Oslo?' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] }, { role: 'tool', tool_call_id: 'c1', content: '4°C' }, { role: 'assistant', content: 'It is 4°C.' }], tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] };
    const mixed = await importDataset(h, 'mixed', [...records.slice(0, 5), toolCall]);
    const run = (await exportRun(h, { dataset_ids: [mixed], format: 'alpaca' }).expect(200)).body.run;
    expect(run.output).toMatchObject({ rows: { train: 5 }, skipped: 1 });
    const card = (await download(h, fileUrl(run.id, 'README.md'))).bytes.toString('utf8');
    expect(card).toContain('1 record(s) the format cannot render were skipped');
  });

  it('hides an export from another key', async () => {
    const run = (await exportRun(h, { dataset_ids: [forward], format: 'jsonl' }).expect(200)).body.run;
    await request(h.url).get(`/v1/exports/${run.id}`).set(B).expect(404);
    expect((await download(h, fileUrl(run.id, 'README.md'), B)).status).toBe(404);
    expect((await download(h, `/v1/exports/${run.id}/archive`, B)).status).toBe(404);
    await exportRun(h, { dataset_ids: [forward], format: 'jsonl' }, B).expect(400);
  });

  it.each([
    ['an unknown dataset', { dataset_ids: ['ds_000000000000000000000000'], format: 'jsonl' }, 'dataset_ids.0'],
    ['splits not summing to 1', { dataset_ids: ['DS'], format: 'parquet', split: { train: 0.5, test: 0.4 } }, 'split'],
    ['an unknown format', { dataset_ids: ['DS'], format: 'csv' }, 'format'],
    ['a bad split name', { dataset_ids: ['DS'], format: 'jsonl', split: { Train: 1 } }, 'split'],
  ])('refuses %s with a 400 naming the field', async (_name, body, field) => {
    const res = await request(h.url).post('/v1/export').set(A).send({ ...body, dataset_ids: body.dataset_ids.map((d) => (d === 'DS' ? forward : d)) });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.field).join(' ')).toContain(field);
  });
});
