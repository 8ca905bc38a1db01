import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from '../../db/client.js';
import { findDataset, recordsPage } from '../../db/datasets.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { assertRenderable, type RenderChecks } from './render-check.js';
import { UnrenderableRecord } from './render-contract.js';
import type { FairForgeOptions } from './fairforge.js';
import { fairForgeStream } from './fairforge.stream.js';
import { render, type ExportFormat, type RenderOptions } from './formats.js';

const PAGE = 500;

/**
 * Streams a dataset in a training format, one keyset page at a time, so memory stays flat however
 * large the dataset is. Every record is checked against the format's contract before the first
 * byte (a 422 names the records that fail): a stream cannot turn into a 4xx halfway through. If
 * anything still fails after the first byte (a record written since the check, a lost database),
 * the error is logged and the stream errors, which closes the connection without the final chunk,
 * so the client sees a broken transfer (curl exit 18), never a clean but short 200.
 */
export async function exportDataset(
  deps: { database: Database; checks: RenderChecks; log?: { error(obj: object, msg: string): void } },
  owner: string,
  id: string,
  format: ExportFormat | 'fairforge',
  options: RenderOptions & { fairforge?: FairForgeOptions } = {},
) {
  const dataset = await findDataset(deps.database.db, id, owner);
  if (!dataset) throw notFound('dataset', id);
  await assertRenderable(deps, dataset, format);
  let at: string | undefined;
  async function* pages() {
    for (let after = 0; ; ) {
      const page = await recordsPage(deps.database.db, id, after, PAGE);
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1].id;
      // A turn of the event loop between pages. On PGlite a query completes without any I/O, so a
      // pass that writes nothing (fairforge's context pass over chunks already seen) would run as one
      // chain of promises: no other request served, and not even this response's headers flushed.
      await nextTurn();
    }
  }
  async function* lines() {
    for await (const page of pages()) {
      let out = '';
      for (const r of page) {
        at = r.key;
        out += `${JSON.stringify(render(format as ExportFormat, r.data as Record<string, unknown>, options))}\n`;
      }
      yield out;
    }
  }
  /** Logs what broke the stream (ids and sizes, never record text) and lets the error close the connection. */
  async function* logged(source: AsyncGenerator<string>) {
    try {
      yield* source;
    } catch (err) {
      deps.log?.error({ err, datasetId: id, format, recordKey: at }, 'export failed after the first byte; closing the connection');
      throw err;
    }
  }
  const base = dataset.name.replace(/[^\w.-]+/g, '_').slice(0, 80) || dataset.id;
  const source = format === 'fairforge' ? fairForgeStream(deps, dataset, pages, options.fairforge!, (key) => (at = key)) : lines();
  const body = await startedBy(source, () => at);
  return format === 'fairforge'
    ? { dataset, stream: Readable.from(logged(body)), filename: `${base}.fairforge.json`, contentType: 'application/json; charset=utf-8' }
    : { dataset, stream: Readable.from(logged(body)), filename: `${base}.${format}.jsonl`, contentType: 'application/x-ndjson; charset=utf-8' };
}

/**
 * The stream with its first chunk already rendered: a record on the first page that cannot be
 * rendered after all (a check passed on stale facts) is still a 422 naming it, not a broken stream.
 */
async function startedBy(source: AsyncGenerator<string>, recordKey: () => string | undefined): Promise<AsyncGenerator<string>> {
  let first: IteratorResult<string>;
  try {
    first = await source.next();
  } catch (err) {
    if (!(err instanceof UnrenderableRecord)) throw err;
    const field = `records.${recordKey()}${err.path ? `.${err.path}` : ''}`;
    throw new AppError('unprocessable', `a record cannot be rendered: ${field} ${err.reason}`, [{ field, message: err.reason }]);
  }
  return (async function* () {
    if (!first.done) yield first.value;
    yield* source;
  })();
}
