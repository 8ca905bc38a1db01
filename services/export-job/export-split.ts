import { createHash } from 'node:crypto';
import { questionAnswer, sourceOf } from '../compare/compare.fields.js';

type Rec = Record<string, unknown>;

/** What a split groups by: `chunk` (the default) keeps each chunk's records together, `source` each document's. */
export const GROUP_BY = ['chunk', 'source'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/**
 * What keeps near-identical records together: records from one chunk paraphrase each other (and,
 * coarser, those of one source document), so a split by record would leak the test set into
 * training. With `chunk` the key is the record's `chunk_id`, else its source; with `source` the
 * other way round; else its question normalised (case, spacing and punctuation dropped), else the
 * record itself.
 */
export function groupKey(data: Rec, by: GroupBy = 'chunk'): string {
  const source = sourceOf(data);
  const chunk = typeof data.chunk_id === 'string' || typeof data.chunk_id === 'number' ? data.chunk_id : undefined;
  // A chunk id is unique within its document only, so it is keyed with the source when there is one.
  if (by === 'chunk' && chunk !== undefined) return `chunk:${source?.value ?? ''}\u0000${chunk}`;
  if (source) return `source:${source.value}`;
  if (chunk !== undefined) return `chunk:\u0000${chunk}`;
  const question = questionAnswer(data)?.question;
  const text = question ? `question:${question.toLowerCase().normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, ' ').trim()}` : `record:${JSON.stringify(data)}`;
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The split of a group: a seeded hash of its key read as a number in [0, 1), placed on the
 * cumulative fractions in the order the caller listed the splits. Depends on the key and the seed
 * only, so record order, paging and other groups never move a group.
 */
export function splitOf(key: string, seed: number, splits: Array<[string, number]>): string {
  const digest = createHash('sha256').update(`${seed}\u0000${key}`).digest();
  const u = digest.readUIntBE(0, 6) / 2 ** 48;
  let upTo = 0;
  for (const [name, fraction] of splits) {
    upTo += fraction;
    if (u < upTo) return name;
  }
  return splits[splits.length - 1][0];
}
