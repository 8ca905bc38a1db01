import { createHash } from 'node:crypto';
import { shapeOf, isChatShape } from '../records/shape-of.js';
import { toMessages } from '../records/to-messages.js';

type Rec = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const obj = (v: unknown): Rec | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined);

/**
 * A record's question and answer as curate reads them (services/curate/record-text.ts): QA and CoT
 * by their fields, every other chat shape (conversations, tool use, knowledge, Alpaca, ShareGPT) by
 * its first user turn and last assistant turn. Undefined when the record holds no chat at all.
 */
export function questionAnswer(data: Rec): { question: string; answer: string } | undefined {
  const shape = shapeOf(data);
  if ((shape === 'qa' || shape === 'cot') && typeof data.question === 'string') return { question: data.question, answer: String(data.answer ?? '') };
  if (!isChatShape(shape)) return undefined;
  try {
    const messages = toMessages(data);
    const user = messages.find((m) => m.role === 'user');
    const assistant = [...messages].reverse().find((m) => m.role === 'assistant' && m.content);
    return { question: user?.content ?? '', answer: assistant?.content ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Where a record came from, by the fields writers really put there:
 * - `source`: Quarry's qa, cot and conversation generators (the document name, or the LanceDB
 *   chunk's `source_file`, or the imported chunk dataset's `source_file`/`source`);
 * - `source_file`: the seed Generator's records (`{question, answer, chunk_id, source_file, …}`);
 * - `metadata.source_file` / `metadata.source`: Generator chunks and DeepFabric-style metadata;
 * - `raw_document`: Quarry's knowledge flows (sdg_hub columns), the seed document's text, hashed.
 * The first field present wins; none = no source.
 */
export const SOURCE_FIELDS = ['source', 'source_file', 'metadata.source_file', 'metadata.source', 'raw_document'] as const;
export type SourceField = (typeof SOURCE_FIELDS)[number];

export function sourceOf(data: Rec): { field: SourceField; value: string } | undefined {
  const meta = obj(data.metadata);
  const candidates: Array<[SourceField, unknown]> = [
    ['source', data.source],
    ['source_file', data.source_file],
    ['metadata.source_file', meta?.source_file],
    ['metadata.source', meta?.source],
    ['raw_document', data.raw_document],
  ];
  for (const [field, raw] of candidates) {
    const value = str(raw);
    if (value === undefined) continue;
    return { field, value: field === 'raw_document' ? createHash('sha256').update(value).digest('hex').slice(0, 16) : value };
  }
  return undefined;
}

/**
 * A record's topic path: `topic_path` as topic samples and tool examples write it (an array), or a
 * string joined by → or >, or DeepFabric-style `metadata.topic_path`. Undefined when none.
 */
export function topicPathOf(data: Rec): string[] | undefined {
  const raw = data.topic_path ?? obj(data.metadata)?.topic_path;
  const path = Array.isArray(raw) ? raw.map((s) => String(s).trim()) : typeof raw === 'string' ? raw.split(/\s*(?:→|>)\s*/) : undefined;
  const clean = path?.filter((s) => s.length > 0);
  return clean && clean.length > 0 ? clean : undefined;
}

/** A question's type: its first word, lower-cased, letters and digits only (what/how/why/…). */
export function firstWord(question: string): string | undefined {
  const word = question.trim().toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/u)?.[0];
  return word;
}

