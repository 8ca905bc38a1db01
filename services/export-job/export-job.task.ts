import { createHash } from 'node:crypto';
import { findDataset, recordsPage, type DatasetRow } from '../../db/datasets.repository.js';
import { clearExportFiles, insertExportFile, renameExportFile } from '../../db/export-files.repository.js';
import { findRunById } from '../../db/runs.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { render } from '../export/formats.js';
import { UnrenderableRecord } from '../export/render-contract.js';
import { defineTask } from '../jobs/task-kind.js';
import { datasetCard, type CardSource, type CardSplit } from './export-card.js';
import { EXPORT_WRITE_KIND, ExportWritePayload } from './export-job.payload.js';
import { MAX_EXPORT_BYTES } from './export-job.spec.js';
import { groupKey, splitOf } from './export-split.js';
import { shardName, SplitShards, type Shard } from './export-shards.js';

type Rec = Record<string, unknown>;
const PAGE = 500;

/** Every record of the datasets in order, a page at a time; stops at a cancel. */
async function* recordsOf(db: Parameters<typeof recordsPage>[0], datasets: DatasetRow[], signal: AbortSignal) {
  for (const dataset of datasets) {
    for (let after = 0; ; ) {
      if (signal.aborted) throw new LlmError('canceled', 'aborted');
      const page = await recordsPage(db, dataset.id, after, PAGE);
      if (page.length === 0) break;
      after = page[page.length - 1].id;
      for (const r of page) yield r.data as Rec;
      // Embedded PGlite answers without I/O: give the event loop (and the lease heartbeat) a turn.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/**
 * Writes an export's files: the records rendered (those the format refuses are skipped and counted,
 * as the streaming export does), each to the split of its group, cut into shards, then the card.
 * Parquet takes a first pass for the columns, so every shard has the same schema. Files go to
 * `export_files` as they are cut; a retried attempt starts from none.
 */
export const exportWriteTask = defineTask(EXPORT_WRITE_KIND, ExportWritePayload, ({ database }) => async ({ task, signal, payload: p }) => {
  const db = database.db;
  const run = await findRunById(db, task.run_id);
  if (!run) throw new LlmError('api', `run ${task.run_id} no longer exists`, { fatal: true });
  const datasets: DatasetRow[] = [];
  for (const id of p.dataset_ids) {
    const found = await findDataset(db, id, run.owner);
    if (!found) throw new LlmError('api', `dataset ${id} no longer exists; the export cannot finish`, { fatal: true });
    datasets.push(found);
  }
  const format = p.format === 'parquet' ? p.render : p.format;
  const rendered = (data: Rec): Rec | undefined => {
    try {
      return render(format, data, { systemPrompt: p.system_prompt });
    } catch (err) {
      if (err instanceof UnrenderableRecord) return undefined;
      throw err;
    }
  };
  let columns: string[] | undefined;
  if (p.format === 'parquet') {
    const seen = new Set<string>();
    for await (const data of recordsOf(db, datasets, signal)) for (const k of Object.keys(rendered(data) ?? {})) seen.add(k);
    columns = [...seen];
  }

  await clearExportFiles(db, run.id);
  let total = 0;
  const pending = (s: Pick<Shard, 'split' | 'index'>) => `data/${s.split}-${s.index}.pending`;
  const written: Array<{ split: string; index: number; rows: number; bytes: number }> = [];
  const sink = async (s: Shard) => {
    total += s.content.byteLength;
    if (total > MAX_EXPORT_BYTES) throw new LlmError('api', `the export would exceed ${MAX_EXPORT_BYTES} bytes`, { fatal: true });
    await insertExportFile(db, { runId: run.id, owner: run.owner, path: pending(s), split: s.split, rows: s.rows, bytes: s.content.byteLength, sha256: s.sha256, content: s.content });
    written.push({ split: s.split, index: s.index, rows: s.rows, bytes: s.content.byteLength });
  };
  const shards = new Map(p.splits.map((s) => [s.name, new SplitShards(s.name, columns, p.max_shard_bytes, sink)]));
  const order: Array<[string, number]> = p.splits.map((s) => [s.name, s.fraction]);
  let skipped = 0;
  for await (const data of recordsOf(db, datasets, signal)) {
    const row = rendered(data);
    if (!row) skipped++;
    else await shards.get(splitOf(groupKey(data, p.group_by), p.seed, order))!.add(row);
  }

  const ext = p.format === 'parquet' ? 'parquet' : 'jsonl';
  const splits: CardSplit[] = [];
  for (const [name, shard] of shards) {
    const count = await shard.finish();
    const mine = written.filter((s) => s.split === name);
    for (const s of mine) await renameExportFile(db, run.id, pending(s), shardName(name, s.index, count, ext));
    splits.push({ name, rows: mine.reduce((a, s) => a + s.rows, 0), bytes: mine.reduce((a, s) => a + s.bytes, 0), paths: mine.map((s) => shardName(name, s.index, count, ext)) });
  }
  const card = datasetCard({
    title: datasets.map((d) => d.name).join(' + '),
    format: p.format,
    render: p.render,
    license: p.license,
    seed: p.seed,
    group_by: p.group_by,
    split: Object.fromEntries(order),
    splits,
    columns,
    skipped,
    sources: await sourcesOf(db, datasets),
  });
  const content = new Uint8Array(Buffer.from(card));
  await insertExportFile(db, { runId: run.id, owner: run.owner, path: 'README.md', split: null, rows: 0, bytes: content.byteLength, sha256: createHash('sha256').update(content).digest('hex'), content });
  const rows = Object.fromEntries(splits.map((s) => [s.name, s.rows]));
  return {
    datasetId: '',
    records: [],
    output: { files: written.length + 1, rows, skipped },
    events: [{ type: 'export.completed', data: { files: written.length + 1, rows, skipped } }],
    spawn: [],
  };
});

async function sourcesOf(db: Parameters<typeof findRunById>[0], datasets: DatasetRow[]): Promise<CardSource[]> {
  const out: CardSource[] = [];
  for (const d of datasets) {
    const run = d.runId ? await findRunById(db, d.runId) : undefined;
    out.push({
      dataset_id: d.id,
      name: d.name,
      records: d.recordCount,
      ...(run
        ? { run: { id: run.id, kind: run.kind, spec: run.spec, usage: { requests: run.requests, input_tokens: run.inputTokens, output_tokens: run.outputTokens, cost_usd: run.costUsd } } }
        : {}),
    });
  }
  return out;
}
