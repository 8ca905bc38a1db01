import { Type, type Static } from '@sinclair/typebox';
import type { Executor } from '../../db/client.js';
import { recordsByIds } from '../../db/select.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { isRecord } from '../../src/plain-object.js';

export const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });
export type Rec = Static<typeof Rec>;

/**
 * Records a curate task reads when it runs instead of carrying them: ids of the run's staged copy
 * (semantic dedup's input). A decision over 100,000 records then spawns payloads of a few bytes a
 * record, not the records (serialising them held the event loop for seconds), and each task reads
 * its own batch by the (dataset_id, id) index. `rejections` (pass tasks) is aligned with `ids`.
 */
export const StoredRecords = Type.Object({
  dataset_id: Type.String(),
  ids: Type.Array(Type.Integer()),
  rejections: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});
export type StoredRecords = Static<typeof StoredRecords>;

/** A task's records in the payload's order: carried (`records`) or read by id (`from`), each with its rejection when it has one. */
export async function recordsOf(db: Executor, p: { records?: Rec[]; from?: StoredRecords }): Promise<Rec[]> {
  if (p.records) return p.records;
  if (!p.from) return [];
  const { dataset_id: datasetId, ids, rejections } = p.from;
  const found = new Map((await recordsByIds(db, datasetId, ids)).map((r) => [r.id, r]));
  return ids.map((id, i) => {
    const r = found.get(id);
    // Staged by this run and never deleted while it runs: missing means the store lost it, worth a retry.
    if (!r || !isRecord(r.data)) throw new LlmError('api', `record ${id} of dataset ${datasetId} is missing`);
    const rejection = rejections?.[i];
    return { key: r.key, data: rejection ? { ...r.data, rejection } : r.data };
  });
}

/** The part of a payload naming one slice of records: carried, or by id. */
export type RecordsPart = { records: Rec[] } | { from: StoredRecords };

/** Slices of `n` records as payload parts, carried or by id. */
export function slicer(source: Rec[] | StoredRecords): { n: number; part: (from: number, to: number) => RecordsPart } {
  if (Array.isArray(source)) return { n: source.length, part: (a, b) => ({ records: source.slice(a, b) }) };
  return {
    n: source.ids.length,
    part: (a, b) => ({ from: { dataset_id: source.dataset_id, ids: source.ids.slice(a, b), ...(source.rejections ? { rejections: source.rejections.slice(a, b) } : {}) } }),
  };
}
