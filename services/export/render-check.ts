import type { Database } from '../../db/client.js';
import { datasetBeingWritten, recordsPage, refusedRecords, type DatasetRow } from '../../db/datasets.repository.js';
import { AppError } from '../../src/errors.js';
import { contractFor, isTagged, type Contract } from './render-contract.js';

/** Keyset page of the check: 500 read fastest on both PGlite and Postgres (2,000 took 4× longer). */
const PAGE = 500;
/** Records named in a 422; the message gives the total. */
const LISTED = 10;
/** Verdicts remembered per process (a few bytes each). */
const REMEMBERED = 1000;

export interface RenderVerdict {
  failed: number;
  examples: Array<{ key: string; path: string; message: string }>;
}

/**
 * Verdicts of finished checks, by dataset, contract and record count. Records are never changed
 * once written, so a dataset whose writer had ended when it was checked keeps its verdict until
 * its record count changes (a retry adds records): exporting it again, or in another chat format,
 * starts streaming at once.
 */
export interface RenderChecks {
  get(memo: string): RenderVerdict | undefined;
  set(memo: string, verdict: RenderVerdict): void;
}

export function createRenderChecks(max = REMEMBERED): RenderChecks {
  const verdicts = new Map<string, RenderVerdict>();
  return {
    get: (memo) => verdicts.get(memo),
    set(memo, verdict) {
      verdicts.delete(memo);
      verdicts.set(memo, verdict);
      if (verdicts.size > max) verdicts.delete(verdicts.keys().next().value!);
    },
  };
}

/** Checks every record of a dataset against a renderer's contract, one keyset page at a time. */
export async function checkRecords(database: Database, datasetId: string, contract: Contract<string>): Promise<RenderVerdict> {
  const verdict: RenderVerdict = { failed: 0, examples: [] };
  for (let after = 0; ; ) {
    const page = await recordsPage(database.db, datasetId, after, PAGE);
    if (page.length === 0) return verdict;
    for (const r of page) {
      const problem = contract.problem(r.data as Record<string, unknown>);
      if (!problem) continue;
      verdict.failed += 1;
      if (verdict.examples.length < LISTED) verdict.examples.push({ key: r.key, ...problem });
    }
    after = page[page.length - 1].id;
  }
}

/** The verdict from the tags the records were written with (records.unrenderable): no record is read unless refused. */
async function taggedVerdict(database: Database, datasetId: string, contract: Contract<string>): Promise<RenderVerdict> {
  const { count, first } = await refusedRecords(database.db, datasetId, contract.name, LISTED);
  const examples = first.map((r) => ({ key: r.key, ...(contract.problem(r.data as Record<string, unknown>) ?? { path: '', message: `cannot be rendered by the ${contract.name} contract` }) }));
  return { failed: count, examples };
}

/** 422 naming the records (and the field in each) that `format` cannot render; nothing to check for jsonl. */
export async function assertRenderable(deps: { database: Database; checks: RenderChecks }, dataset: DatasetRow, format: string): Promise<void> {
  const contract = contractFor(format);
  if (!contract) return;
  const memo = `${dataset.id}:${contract.name}:${dataset.recordCount}`;
  let verdict = dataset.tagged && isTagged(contract, dataset.tagVersion) ? await taggedVerdict(deps.database, dataset.id, contract) : deps.checks.get(memo);
  if (!verdict) {
    // A dataset still being written may gain records below the last id read: check it every time.
    const live = await datasetBeingWritten(deps.database.db, dataset.id);
    verdict = await checkRecords(deps.database, dataset.id, contract);
    if (!live) deps.checks.set(memo, verdict);
  }
  if (verdict.failed === 0) return;
  const fields = verdict.examples.map((e) => ({ field: `records.${e.key}${e.path ? `.${e.path}` : ''}`, message: e.message }));
  throw new AppError('unprocessable', `${verdict.failed} ${verdict.failed === 1 ? 'record' : 'records'} cannot be rendered as ${format}: ${fields[0].field} ${fields[0].message}`, [
    { field: 'format', message: `${verdict.failed} records cannot be rendered as ${format} (the first ${fields.length} are listed); export them as jsonl, or fix them` },
    ...fields,
  ]);
}
