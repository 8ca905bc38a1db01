import type { Database } from '../../../db/client.js';
import { AppError } from '../../../src/errors.js';
import { readRecords } from '../../datasets/read-records.js';
import type { PlannedChunk } from './planned-chunk.js';

/**
 * Chunks from an imported dataset: each record's `content` (or `text`) is a passage; `id` or
 * `chunk_id`, `source_file` or `source` and `section_path` are used when present.
 */
export async function loadDatasetChunks(database: Database, owner: string, datasetId: string, limit: number): Promise<PlannedChunk[]> {
  const { dataset, records } = await readRecords(database, owner, datasetId, limit);
  const unusable = records.filter((r) => !contentOf(r.data).trim());
  if (unusable.length > 0) {
    throw new AppError('validation_failed', `dataset_id: ${unusable.length} records have no content or text to generate from (e.g. record ${unusable[0].key})`, [
      { field: 'dataset_id', message: 'every record needs a non-empty content or text field' },
    ]);
  }
  return records.map(({ key, data }) => {
    const path = data.section_path;
    return {
      key: `r/${key}`,
      chunk: {
        chunk_id: String(data.id ?? data.chunk_id ?? key),
        content: contentOf(data).trim(),
        source: String(data.source_file ?? data.source ?? dataset.name),
        section_path: Array.isArray(path) ? path.map(String) : typeof path === 'string' && path ? path.split(/\s*>\s*/) : [],
      },
    };
  });
}

const contentOf = (data: Record<string, unknown>) => (typeof data.content === 'string' ? data.content : typeof data.text === 'string' ? data.text : '');
