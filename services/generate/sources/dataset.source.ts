import type { Database } from '../../../db/client.js';
import { findDataset, recordsPage } from '../../../db/datasets.repository.js';
import { AppError } from '../../../src/errors.js';
import type { PlannedChunk } from './planned-chunk.js';

const PAGE = 1000;

/**
 * Chunks from an imported dataset: each record's `content` (or `text`) is a passage; `id` or
 * `chunk_id`, `source_file` or `source` and `section_path` are used when present.
 */
export async function loadDatasetChunks(database: Database, owner: string, datasetId: string, limit: number): Promise<PlannedChunk[]> {
  const dataset = await findDataset(database.db, datasetId, owner);
  if (!dataset) throw new AppError('validation_failed', `dataset_id: no dataset ${datasetId}`, [{ field: 'dataset_id', message: `no dataset ${datasetId}` }]);
  const chunks: PlannedChunk[] = [];
  let unusable = 0;
  let example: string | undefined;
  for (let after = 0; chunks.length < limit; ) {
    const page = await recordsPage(database.db, datasetId, after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    for (const r of page) {
      const data = r.data as Record<string, unknown>;
      const content = typeof data.content === 'string' ? data.content : typeof data.text === 'string' ? data.text : '';
      if (!content.trim()) {
        unusable++;
        example ??= r.key;
        continue;
      }
      if (chunks.length >= limit) break;
      const path = data.section_path;
      chunks.push({
        key: `r/${r.key}`,
        chunk: {
          chunk_id: String(data.id ?? data.chunk_id ?? r.key),
          content: content.trim(),
          source: String(data.source_file ?? data.source ?? dataset.name),
          section_path: Array.isArray(path) ? path.map(String) : typeof path === 'string' && path ? path.split(/\s*>\s*/) : [],
        },
      });
    }
  }
  if (unusable > 0) {
    throw new AppError('validation_failed', `dataset_id: ${unusable} records have no content or text to generate from (e.g. record ${example})`, [
      { field: 'dataset_id', message: 'every record needs a non-empty content or text field' },
    ]);
  }
  return chunks;
}
