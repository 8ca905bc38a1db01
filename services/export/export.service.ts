import { Readable } from 'node:stream';
import type { Database } from '../../db/client.js';
import { countRecordsMissing, findDataset, recordsPage } from '../../db/datasets.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { CHAT_SHAPES, render, type ExportFormat } from './formats.js';

const PAGE = 500;

/**
 * Streams a dataset in a training format, one keyset page at a time, so memory stays flat however
 * large the dataset is. Checks first that every record can be rendered: a stream cannot turn into
 * a 4xx halfway through.
 */
export async function exportDataset(deps: { database: Database }, owner: string, id: string, format: ExportFormat, systemPrompt?: string) {
  const dataset = await findDataset(deps.database.db, id, owner);
  if (!dataset) throw notFound('dataset', id);
  if (format !== 'jsonl') {
    const missing = await countRecordsMissing(deps.database.db, id, CHAT_SHAPES);
    if (missing.n > 0) {
      throw new AppError('unprocessable', `${missing.n} records cannot be rendered as ${format}`, [
        { field: 'format', message: `records need messages, question+answer, instruction+output or conversations (e.g. record ${missing.example})` },
      ]);
    }
  }
  async function* lines() {
    let after = 0;
    for (;;) {
      const page = await recordsPage(deps.database.db, id, after, PAGE);
      if (page.length === 0) return;
      yield page.map((r) => `${JSON.stringify(render(format, r.data as Record<string, unknown>, systemPrompt))}\n`).join('');
      after = page[page.length - 1].id;
    }
  }
  return { dataset, stream: Readable.from(lines()), filename: `${dataset.name.replace(/[^\w.-]+/g, '_').slice(0, 80) || dataset.id}.${format}.jsonl` };
}
