import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { LlmError } from './llm.errors.js';

/**
 * Batch prompts label their items (`[p1]`, `[p2]`, …), and the answer is an object with one required
 * property per label and nothing else: `{"p1": {...}, "p2": {...}}`. The labels are then part of
 * the schema, which OpenAI strict mode, Anthropic tool input and Ollama's `format` all constrain
 * decoding to, so a teacher that follows the schema and ignores the prose still answers every item
 * under its own label. A provider that ignores schemas is caught by validating the same schema: a
 * missing, extra or mangled label is fed back like any schema error, and a batch that never aligns
 * is split by its task (`splitsBatch`). Answers are read by label, never by position.
 */
export const itemLabels = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

const schemas = new WeakMap<TSchema, Map<string, TObject>>();

/** The answer schema of a batch: `item` under each label, all required, no other keys (memoised per item schema). */
export function labelledSchema<T extends TSchema>(item: T, labels: string[]): TObject<Record<string, T>> {
  let byLabels = schemas.get(item);
  if (!byLabels) schemas.set(item, (byLabels = new Map()));
  const key = labels.join();
  let schema = byLabels.get(key);
  if (!schema) byLabels.set(key, (schema = Type.Object(Object.fromEntries(labels.map((l) => [l, item])), { additionalProperties: false })));
  return schema as TObject<Record<string, T>>;
}

/** The items of a validated batch answer, in the order of the batch. */
export const byLabel = <T>(answer: Record<string, T>, labels: string[]): T[] => labels.map((l) => answer[l]);

/**
 * Failures of an answer that came back but could not be used for the whole batch (labels that never
 * aligned, broken JSON, an answer cut off at max_tokens): asked one item at a time, the teacher may
 * well manage. Transport failures (rate limits, timeouts, auth) are not the batch's fault.
 */
const SPLITTABLE = new Set(['schema', 'json', 'length']);

/** Whether a batch call of `size` items that failed with `err` should be retried as single items. */
export const splitsBatch = (err: unknown, size: number) => size > 1 && err instanceof LlmError && SPLITTABLE.has(err.category);

/** The batch call's result, or undefined when its answer could not be used and its items should go one by one. */
export async function unlessSplit<T>(size: number, call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (!splitsBatch(err, size)) throw err;
    return undefined;
  }
}
