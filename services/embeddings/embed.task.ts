import { Type } from '@sinclair/typebox';
import { cachedHashes, recordsInRange, storeVectors } from '../../db/embeddings.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { defineTask } from '../jobs/task-kind.js';
import { EmbeddingMethodSchema, type ModelMethod } from './embedding-method.js';
import { embeddingText, textHash } from './embedding-text.js';

export const EMBED_TASK_KIND = 'embed.batch';

/** Records one embed task covers: a few calls at most, so a retry repeats little. */
export const EMBED_TASK_RECORDS = 256;
/** Inputs per `/v1/embeddings` call (OpenAI takes 2,048; smaller calls spread over the provider's slots). */
export const EMBED_CALL_INPUTS = 128;
/** Characters per call: well under OpenAI's 300,000 tokens per request whatever the language. */
export const EMBED_CALL_CHARS = 200_000;

export const EmbedPayload = Type.Object({
  /** The dataset whose records are embedded (the source, not the run's own). */
  dataset_id: Type.String(),
  owner: Type.String(),
  /** Records with after_id < id <= through_id. */
  after_id: Type.Integer({ minimum: 0 }),
  through_id: Type.Integer({ minimum: 0 }),
  /** Records in the range and the characters of their JSON when planned: what a dry run counts. */
  records: Type.Integer({ minimum: 0 }),
  chars: Type.Integer({ minimum: 0 }),
  method: EmbeddingMethodSchema,
  /** The finisher check to spawn once this task's vectors are stored. */
  then: Type.Optional(Type.Object({ kind: Type.String(), payload: Type.Record(Type.String(), Type.Unknown()) })),
});

/** Calls of at most EMBED_CALL_INPUTS texts and EMBED_CALL_CHARS characters (a longer text goes alone). */
export function callBatches<T extends { text: string }>(items: T[]): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let chars = 0;
  for (const item of items) {
    const { text } = item;
    if (batch.length > 0 && (batch.length >= EMBED_CALL_INPUTS || chars + text.length > EMBED_CALL_CHARS)) {
      out.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(item);
    chars += text.length;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/**
 * Embeds the texts of a range of records that have no stored vector yet for this owner and model,
 * and stores them: a text seen by any earlier job (or an earlier attempt of this one) costs nothing.
 * Writes no records; its calls count in the run's usage like any teacher call.
 */
export const embedTask = defineTask(EMBED_TASK_KIND, EmbedPayload, (deps) => async ({ task, llm, signal, usage, payload: p }) => {
  if (p.method.kind !== 'model') throw new LlmError('api', `${EMBED_TASK_KIND} ${task.key}: lexical vectors are computed when read, not embedded`, { fatal: true });
  const method: ModelMethod = p.method;
  const db = deps.database.db;
  const texts = new Map<string, string>();
  for (const r of await recordsInRange(db, p.dataset_id, p.after_id, p.through_id, EMBED_TASK_RECORDS)) {
    const text = embeddingText(r.data as Record<string, unknown>);
    // An empty text has no vector to ask for: it reads as a zero row.
    if (text) texts.set(textHash(text), text);
  }
  const cached = await cachedHashes(db, p.owner, method.modelKey, [...texts.keys()]);
  const missing = [...texts].filter(([hash]) => !cached.has(hash)).map(([hash, text]) => ({ hash, text }));
  for (const batch of callBatches(missing)) {
    const vectors = await llm.embed({ provider: method.provider, model: method.model, texts: batch.map((b) => b.text), dimensions: method.dimensions, signal, usage });
    await storeVectors(db, p.owner, method.modelKey, batch.map((b, i) => ({ hash: b.hash, vector: vectors[i] })));
  }
  return {
    // No records: the dataset only matters for records, and the source always exists.
    datasetId: p.dataset_id,
    records: [],
    spawn: p.then ? [{ key: `${p.then.kind}/${task.key}`, kind: p.then.kind, payload: p.then.payload }] : undefined,
  };
});
