import { endianness } from 'node:os';
import { recordsPage } from '../../db/datasets.repository.js';
import { readVectors, EMBEDDING_READ_BATCH } from '../../db/embeddings.repository.js';
import { AppError } from '../../src/errors.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { sortPaced } from '../../src/paced-sort.js';
import { pacer } from '../../src/pacer.js';
import { isRecord } from '../../src/plain-object.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { LIMITS } from '../limits.js';
import { lexicalVectors } from '../vectors/lexical.js';
import { fromFlat, type VectorSet } from '../vectors/vector-set.js';
import type { EmbeddingMethod, ModelMethod } from './embedding-method.js';
import { embeddingText, hashRank, textHash } from './embedding-text.js';

/** Every record of one dataset with its unit-length vector (row i of `vectors`), in canonical order. */
export interface VectorTable<T> {
  rows: Array<{ id: number; key: string; hash: string; picked: T }>;
  vectors: VectorSet;
  method: EmbeddingMethod;
}

type Row<T> = VectorTable<T>['rows'][number];

const PAGE = 1000;
const EMPTY_HASH = textHash('');

/**
 * Canonical order: by the hash of the embedding text, ties by record key (code-unit order, not the
 * locale's), so the same records in any input order come out in the same order.
 */
const canonical = <T>(a: Row<T>, b: Row<T>) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);


/**
 * In a finishing task: every record of ONE dataset with its vector, in canonical order. Pages the
 * dataset 1,000 records at a time and keeps only id, key, text hash and what `pick` takes (the
 * texts too for the lexical method, whose IDF needs them all); vectors are read by hash afterwards
 * straight into one Float32Array. A model vector that is not stored is an error: the job's embed
 * tasks ran first. An empty text is a zero row (similar to nothing).
 */
export async function loadVectors<T = undefined>(
  deps: Pick<JobDeps, 'database'>,
  owner: string,
  datasetId: string,
  method: EmbeddingMethod,
  opts: { signal?: AbortSignal; pick?: (data: Record<string, unknown>) => T } = {},
): Promise<VectorTable<T>> {
  const keepTexts = method.kind === 'lexical';
  const pace = pacer();
  const entries: Array<{ rank: number; row: Row<T>; text?: string }> = [];
  for (let after = 0; ; ) {
    opts.signal?.throwIfAborted();
    const page = await recordsPage(deps.database.db, datasetId, after, PAGE);
    for (const r of page) {
      const data = isRecord(r.data) ? r.data : {};
      const text = embeddingText(data);
      const hash = textHash(text);
      entries.push({ rank: hashRank(hash), row: { id: r.id, key: r.key, hash, picked: opts.pick ? opts.pick(data) : (undefined as T) }, ...(keepTexts ? { text } : {}) });
    }
    if (entries.length > LIMITS.selectRecords) throw new AppError('validation_failed', `dataset ${datasetId}: more than ${LIMITS.selectRecords} records`, [{ field: 'dataset_id', message: `more than ${LIMITS.selectRecords} records` }]);
    if (page.length < PAGE) break;
    after = page[page.length - 1].id;
  }
  await sortPaced(entries, (a, b) => a.rank - b.rank || canonical(a.row, b.row), pace);
  const rows = entries.map((e) => e.row);
  if (method.kind === 'lexical') {
    const texts = entries.map((e) => e.text ?? '');
    entries.length = 0;
    return { rows, vectors: await lexicalVectors(texts, method.dims), method };
  }
  entries.length = 0;
  return { rows, vectors: await modelVectors(deps, owner, rows, method, opts.signal), method };
}

/** The stored vectors of `rows` (canonical order already), read in batches of hashes into one row-major array. */
async function modelVectors<T>(deps: Pick<JobDeps, 'database'>, owner: string, rows: Row<T>[], method: ModelMethod, signal?: AbortSignal): Promise<VectorSet> {
  const positions = new Map<string, number[]>();
  const pace = pacer();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r.hash === EMPTY_HASH) continue;
    const at = positions.get(r.hash);
    if (at) at.push(i);
    else positions.set(r.hash, [i]);
    if (i % 4096 === 0) await pace();
  }
  let dims = method.dimensions ?? 0;
  let data: Float32Array | undefined;
  const hashes = [...positions.keys()];
  for (let i = 0; i < hashes.length; i += EMBEDDING_READ_BATCH) {
    signal?.throwIfAborted();
    const batch = hashes.slice(i, i + EMBEDDING_READ_BATCH);
    const stored = await readVectors(deps.database.db, owner, method.modelKey, batch);
    for (const hash of batch) {
      const v = stored.get(hash);
      const first = rows[positions.get(hash)![0]];
      if (!v) throw new LlmError('api', `record ${first.key}: no stored ${method.provider}/${method.model} embedding of its text (its embed task has not run)`);
      if (!data) {
        dims = v.dims;
        data = allocate(rows.length, dims);
      }
      if (v.dims !== dims || v.vector.byteLength !== dims * 4) throw new LlmError('api', `record ${first.key}: stored embedding has ${v.dims} dimensions, expected ${dims}`);
      for (const row of positions.get(hash)!) copyRow(data, row, dims, v.vector);
      await pace();
    }
  }
  dims ||= 1;
  return fromFlat(data ?? allocate(rows.length, dims), dims);
}

function allocate(n: number, dims: number): Float32Array {
  if (n * dims > LIMITS.vectorFloats) {
    throw new AppError('validation_failed', `${n} records × ${dims} dimensions exceed ${LIMITS.vectorFloats} floats`, [{ field: 'embedding', message: 'vectors too large for this dataset size' }]);
  }
  return new Float32Array(n * dims);
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** float32 little-endian bytes into row `row`: a byte copy on little-endian machines (the stored bytes may be unaligned). */
function copyRow(data: Float32Array, row: number, dims: number, bytes: Uint8Array): void {
  const offset = row * dims;
  if (LITTLE_ENDIAN) {
    new Uint8Array(data.buffer, data.byteOffset + offset * 4, dims * 4).set(bytes);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < dims; k++) data[offset + k] = view.getFloat32(k * 4, true);
}
