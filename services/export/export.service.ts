import { Readable } from 'node:stream';
import type { Database } from '../../db/client.js';
import { countRecordsMissing, findDataset, recordsPage } from '../../db/datasets.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { fairForgeDataset, sessionOf, type FairForgeOptions } from './fairforge.js';
import { CHAT_SHAPES, render, type ExportFormat } from './formats.js';

const PAGE = 500;

/**
 * Streams a dataset in a training format, one keyset page at a time, so memory stays flat however
 * large the dataset is. Checks first that every record can be rendered: a stream cannot turn into
 * a 4xx halfway through.
 */
export async function exportDataset(
  deps: { database: Database },
  owner: string,
  id: string,
  format: ExportFormat | 'fairforge',
  options: { systemPrompt?: string; fairforge?: FairForgeOptions } = {},
) {
  const dataset = await findDataset(deps.database.db, id, owner);
  if (!dataset) throw notFound('dataset', id);
  if (format !== 'jsonl') {
    const missing = await countRecordsMissing(deps.database.db, id, format === 'fairforge' ? [...CHAT_SHAPES, ['turns']] : CHAT_SHAPES);
    if (missing.n > 0) {
      throw new AppError('unprocessable', `${missing.n} records cannot be rendered as ${format}`, [
        { field: 'format', message: `records need messages, question+answer, instruction+output or conversations (e.g. record ${missing.example})` },
      ]);
    }
  }
  async function* pages() {
    for (let after = 0; ; ) {
      const page = await recordsPage(deps.database.db, id, after, PAGE);
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1].id;
    }
  }
  async function* lines() {
    for await (const page of pages()) {
      yield page.map((r) => `${JSON.stringify(render(format as ExportFormat, r.data as Record<string, unknown>, options.systemPrompt))}\n`).join('');
    }
  }
  // A JSON array of datasets, one per chunk: consecutive records of a chunk are grouped as they stream.
  async function* fairforge() {
    let open: { session: string; records: Record<string, unknown>[] } | undefined;
    let first = true;
    const emit = () => {
      const text = `${first ? '[\n' : ',\n'}${JSON.stringify(fairForgeDataset(open!.session, open!.records, options.fairforge!))}`;
      first = false;
      return text;
    };
    for await (const page of pages()) {
      let out = '';
      for (const r of page) {
        const session = sessionOf(r.data as Record<string, unknown>, r.key);
        if (open && open.session !== session) out += emit();
        if (!open || open.session !== session) open = { session, records: [] };
        open.records.push(r.data as Record<string, unknown>);
      }
      if (out) yield out;
    }
    yield `${open ? emit() : '['}\n]\n`;
  }
  const base = dataset.name.replace(/[^\w.-]+/g, '_').slice(0, 80) || dataset.id;
  return format === 'fairforge'
    ? { dataset, stream: Readable.from(fairforge()), filename: `${base}.fairforge.json`, contentType: 'application/json; charset=utf-8' }
    : { dataset, stream: Readable.from(lines()), filename: `${base}.${format}.jsonl`, contentType: 'application/x-ndjson; charset=utf-8' };
}
