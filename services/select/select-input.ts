import { findDataset, recordsPage } from '../../db/datasets.repository.js';
import { AppError } from '../../src/errors.js';
import { sortPaced } from '../../src/paced-sort.js';
import { pacer } from '../../src/pacer.js';
import { embeddingText, hashRank, textHash } from '../embeddings/embedding-text.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { checkDatasetSize, LIMITS } from '../limits.js';
import { curationRating } from '../records/rating.js';
import { scoreText } from './select-score.task.js';
import { isRecord } from '../../src/plain-object.js';

type Rec = { key: string; data: Record<string, unknown> };

/** One input record as the planner keeps it: where to find it, its place in canonical order, its prompt size. */
export interface InputEntry {
  /** The text hash's leading 52 bits: sorts as `order` does, compared as a number. */
  rank: number;
  order: string;
  id?: number;
  record?: Rec;
  chars: number;
}

const PAGE = 1000;

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/**
 * Checks one record: it needs text to embed and score (and a curation rating when ranked by it).
 * Its canonical place is the hash of its embedding text, then its key (the order loadVectors
 * returns), so the same records batch alike whatever order they came in; a 96-bit hash prefix
 * orders as the full hash does for any texts that are not equal.
 */
function entryOf(r: Rec, field: string, needsRating: boolean, judged: boolean): Omit<InputEntry, 'id' | 'record'> {
  const text = embeddingText(r.data);
  if (!text.trim()) throw invalid(field, `record ${r.key} has no text to embed or score (needs question and answer, or messages)`);
  if (needsRating && curationRating(r.data) === undefined) throw invalid(field, `record ${r.key} has no curation.rating to rank by (score_by: rating needs records from POST /v1/curate)`);
  const hash = textHash(text);
  return { rank: hashRank(hash), order: `${hash.slice(0, 24)} ${r.key}`, chars: judged ? scoreText(r.data).length : 0 };
}

/** Canonical order: numbers first (the hash's leading 52 bits), the order text only when they tie. */
const byOrder = (a: InputEntry, b: InputEntry) => a.rank - b.rank || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);

/**
 * The input of a select run in canonical order, checked record by record. A dataset is paged and
 * only ids, order keys and sizes are kept (a million records plan in a few hundred MB at most, none
 * of it record data); inline records are kept whole, to be carried in their tasks.
 */
export async function selectInput(
  deps: Pick<JobDeps, 'database'>,
  owner: string,
  spec: { dataset_id?: string; records?: Record<string, unknown>[] },
  /** ordered: the planner batches the entries, so they must be in canonical order (else only checked and counted). */
  opts: { needsRating: boolean; judged: boolean; ordered: boolean },
): Promise<{ name?: string; entries: InputEntry[] }> {
  const entries: InputEntry[] = [];
  const pace = pacer();
  if (spec.records) {
    spec.records.forEach((data, i) => entries.push({ ...entryOf({ key: `r${i}`, data }, `records.${i}`, opts.needsRating, opts.judged), record: { key: `r${i}`, data } }));
  } else {
    const datasetId = spec.dataset_id!;
    await checkDatasetSize(deps.database.db, owner, datasetId, LIMITS.selectRecords);
    const dataset = await findDataset(deps.database.db, datasetId, owner);
    if (!dataset) throw invalid('dataset_id', `no dataset ${datasetId}`);
    for (let after = 0; ; ) {
      const page = await recordsPage(deps.database.db, datasetId, after, PAGE);
      for (const r of page) {
        const data = isRecord(r.data) ? r.data : {};
        entries.push({ ...entryOf({ key: r.key, data }, 'dataset_id', opts.needsRating, opts.judged), id: r.id });
      }
      if (entries.length > LIMITS.selectRecords) throw invalid('dataset_id', `the dataset has more than ${LIMITS.selectRecords.toLocaleString('en-US')} records`);
      if (page.length < PAGE) break;
      after = page[page.length - 1].id;
      await (pace() ?? new Promise((resolve) => setImmediate(resolve)));
    }
    if (entries.length === 0) throw invalid('dataset_id', 'the dataset is empty');
    return { name: dataset.name, entries: opts.ordered ? await sortPaced(entries, byOrder, pace) : entries };
  }
  return { entries: await sortPaced(entries, byOrder, pace) };
}
