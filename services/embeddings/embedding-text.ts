import { createHash } from 'node:crypto';
import { judgeable, judgeText } from '../curate/record-text.js';
import { isChatShape, shapeOf } from '../records/shape-of.js';
import { toMessages } from '../records/to-messages.js';

type Rec = Record<string, unknown>;

/**
 * The text a record is embedded by: what the judge reads (question and answer, reasoning, every
 * turn of a conversation with its tool calls), so two records that read alike embed alike whatever
 * their other fields. Other chat shapes (knowledge, Alpaca, ShareGPT) by their turns; '' when the
 * record holds no text a reader would compare.
 */
export function embeddingText(data: Rec): string {
  if (judgeable(data)) return judgeText(data);
  const shape = shapeOf(data);
  if (isChatShape(shape)) {
    return toMessages(data)
      .map((m) => `${m.role.toUpperCase()}: ${m.content ?? ''}`)
      .join('\n');
  }
  return typeof data.question === 'string' ? `Question: ${data.question}\nAnswer: ${typeof data.answer === 'string' ? data.answer : ''}` : '';
}

/** sha256 hex of a text: the key a vector is stored under, and the first key of the canonical order. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A hash's first 52 bits as a number: ordered as the hex text is (fixed length, lower case), so a sort
 * compares numbers and only falls back to the strings when they are equal (the same text). Sorting
 * 300,000 rows by the strings alone held the event loop for seconds.
 */
export const hashRank = (hash: string) => parseInt(hash.slice(0, 13), 16);
