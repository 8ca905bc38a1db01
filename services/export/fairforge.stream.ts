import type { Database } from '../../db/client.js';
import { findDataset, type DatasetRow, type RecordRow } from '../../db/datasets.repository.js';
import { findRunById } from '../../db/runs.repository.js';
import { batchNumbering, contextOf, languageOf, type FairForgeOptions } from './fairforge.js';

/** Runs followed back from a dataset to find the language it was generated in (curate → generate, …). */
const LANGUAGE_HOPS = 4;

/**
 * The language of the run that wrote the dataset, or of the run that wrote its source (a curated
 * dataset keeps the language its pairs were generated in); undefined when none set one.
 */
export async function runLanguage(database: Database, dataset: DatasetRow): Promise<string | undefined> {
  let runId = dataset.runId;
  for (let hop = 0; runId && hop < LANGUAGE_HOPS; hop++) {
    const run = await findRunById(database.db, runId);
    const spec = (run?.spec ?? {}) as { language?: unknown; dataset_id?: unknown };
    if (typeof spec.language === 'string' && spec.language) return spec.language;
    if (typeof spec.dataset_id !== 'string') return undefined;
    runId = (await findDataset(database.db, spec.dataset_id, dataset.owner))?.runId ?? null;
  }
  return undefined;
}

/**
 * The dataset as a JSON array holding one Fair-Forge dataset, in two passes over its records so
 * memory stays flat: the first streams `context` (each chunk's text once, joined by a blank line, as
 * Fair-Forge joins a group's chunks) and finds a record's language, the second streams the batches.
 * `context` and `language` therefore come before `conversation`; the keys are Fair-Forge's.
 * An empty dataset is an empty array (Fair-Forge makes no dataset from no chunks).
 */
export async function* fairForgeStream(
  deps: { database: Database },
  dataset: DatasetRow,
  pages: () => AsyncGenerator<RecordRow[]>,
  options: FairForgeOptions,
  reading: (key: string) => void,
): AsyncGenerator<string> {
  const fromRun = await runLanguage(deps.database, dataset);
  let out = `[\n{"session_id":${JSON.stringify(dataset.id)},"assistant_id":${JSON.stringify(options.assistantId)},"context":"`;
  const seen = new Set<string>();
  let recordLanguage: string | undefined;
  let empty = true;
  let separator = '';
  for await (const page of pages()) {
    empty = false;
    for (const r of page) {
      reading(r.key);
      const data = r.data as Record<string, unknown>;
      recordLanguage ??= languageOf(data);
      const context = contextOf(data, seen);
      if (context === undefined) continue;
      // The text escaped as inside a JSON string: pieces of one string, written as they are read.
      out += separator + JSON.stringify(context).slice(1, -1);
      separator = '\\n\\n';
    }
    yield out;
    out = '';
  }
  if (empty) {
    yield '[]\n';
    return;
  }
  yield `","language":${JSON.stringify(fromRun ?? recordLanguage ?? options.language)},"conversation":[`;
  const batchesOf = batchNumbering();
  let first = true;
  for await (const page of pages()) {
    for (const r of page) {
      reading(r.key);
      for (const batch of batchesOf(r.data as Record<string, unknown>, r.key)) {
        out += `${first ? '\n' : ',\n'}${JSON.stringify(batch)}`;
        first = false;
      }
    }
    yield out;
    out = '';
  }
  yield '\n]}\n]\n';
}
