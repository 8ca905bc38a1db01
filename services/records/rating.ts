import { isRecord } from '../../src/plain-object.js';

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `curation.rating` when a curate run judged the record (0–10); what `score_by: rating`, compare and tool balance read. */
export function curationRating(data: Record<string, unknown>): number | undefined {
  return isRecord(data.curation) ? finite(data.curation.rating) : undefined;
}

/**
 * Any rating a record carries, best evidence first: a curate judge's, a generator's or importer's
 * top-level `rating`, or a DEITA combined score. Semantic dedup keeps the better-rated of two duplicates by it.
 */
export function anyRating(data: Record<string, unknown>): number | undefined {
  return curationRating(data) ?? finite(data.rating) ?? (isRecord(data.multi_score) ? finite(data.multi_score.combined) : undefined);
}
