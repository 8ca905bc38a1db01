/**
 * Fair-Forge evaluation datasets (`fair_forge/schemas/common.py` `Dataset`), grouped as Fair-Forge's
 * `generate_dataset` groups them: one per chunk group, so one per Quarry dataset (a sequential run
 * writes one, a random-sampling run one per sample). `context` is the group's chunk texts joined by a
 * blank line; `qa_id`s are `{chunk}_q{i}` for independent questions and `{chunk}_t{n}` for turns.
 * `assistant` stays empty for the assistant under test; `ground_truth_assistant` is the teacher's
 * answer, if any.
 */
import type { Static } from '@sinclair/typebox';
import { UnrenderableRecord, fairForgeContract, type FAIRFORGE_SHAPES } from './render-contract.js';

type Rec = Record<string, any>;
type Shape<K extends keyof typeof FAIRFORGE_SHAPES> = Static<(typeof FAIRFORGE_SHAPES)[K]>;

export interface FairForgeOptions {
  assistantId: string;
  language: string;
}

/** Fair-Forge's `Batch`, every field as its `model_dump()` writes it. */
export interface Batch {
  qa_id: string;
  query: string;
  assistant: string;
  ground_truth_assistant: string;
  observation: string | null;
  agentic: Record<string, unknown>;
  ground_truth_agentic: Record<string, unknown>;
  logprobs: Record<string, unknown>;
  weight: number | null;
}

/** The record, checked against the contract the export checked before the first byte. */
function checked(record: Rec) {
  const problem = fairForgeContract.problem(record);
  if (problem) throw new UnrenderableRecord(problem.path, problem.message);
  return fairForgeContract.shapeOf(record)!;
}

const chunkOf = (record: Rec) => (record.chunk_id === undefined || record.chunk_id === null ? undefined : String(record.chunk_id));

/**
 * The chunk text a record adds to `context`: generated records carry it on the first item of each
 * chunk (conversations on every one), so a chunk is added once however many records name it.
 */
export function contextOf(record: Rec, seen: Set<string>): string | undefined {
  checked(record);
  if (typeof record.context !== 'string' || record.context === '') return undefined;
  const chunk = chunkOf(record);
  if (chunk !== undefined) {
    if (seen.has(chunk)) return undefined;
    seen.add(chunk);
  }
  return record.context;
}

/** A record's own language (imported evaluation sets may carry one). */
export const languageOf = (record: Rec): string | undefined => (typeof record.language === 'string' && record.language ? record.language : undefined);

/**
 * Turns records into batches in order, numbering questions and turns per chunk as Fair-Forge does
 * (`{chunk}_q1`, `{chunk}_q2`, … across every record of the chunk); a record without a chunk is
 * numbered under its own key.
 */
export function batchNumbering() {
  const counts = new Map<string, number>();
  const next = (id: string) => {
    const n = (counts.get(id) ?? 0) + 1;
    counts.set(id, n);
    return n;
  };
  return function batchesOf(record: Rec, key: string): Batch[] {
    const shape = checked(record);
    const chunk = chunkOf(record);
    const id = chunk ?? key;
    const base = { assistant: '', ground_truth_agentic: {}, logprobs: {}, weight: null };
    // A conversation's turns: numbered within it, each building on the one before (Fair-Forge's agentic metadata).
    const turn = (qaId: string, n: number, before: string | undefined, query: string, answer: string): Batch => ({
      qa_id: qaId,
      query,
      ...base,
      ground_truth_assistant: answer,
      observation: chunk === undefined ? null : `Conversation turn ${n} from chunk: ${chunk}`,
      agentic: { ...(chunk === undefined ? {} : { chunk_id: chunk }), turn_number: n, conversation_mode: true, ...(before ? { builds_on: before } : {}) },
    });
    if (shape === 'turns') {
      const turns = (record as Shape<'turns'>).turns;
      return turns.map((t, i) => turn(t.qa_id, i + 1, turns[i - 1]?.qa_id, t.query, t.answer ?? ''));
    }
    if (shape === 'question') {
      const r = record as Shape<'question'>;
      return [
        {
          qa_id: `${id}_q${next(`${id}_q`)}`,
          query: r.question,
          ...base,
          ground_truth_assistant: r.answer ?? '',
          observation: chunk === undefined ? null : `Generated from chunk: ${chunk}`,
          agentic: chunk === undefined ? {} : { chunk_id: chunk },
        },
      ];
    }
    const messages = (record as Shape<'messages'>).messages;
    const batches: Batch[] = [];
    messages.forEach((m, i) => {
      if (m.role !== 'user') return;
      const after = messages[i + 1];
      const qaId = `${id}_t${next(`${id}_t`)}`;
      batches.push(turn(qaId, batches.length + 1, batches.at(-1)?.qa_id, m.content, after?.role === 'assistant' ? after.content : ''));
    });
    return batches;
  };
}
