/**
 * Fair-Forge evaluation datasets: `{ session_id, assistant_id, language, context, conversation:
 * [{ qa_id, query, assistant, ground_truth_assistant }] }`, one per chunk. `assistant` stays empty
 * for the assistant under test to fill; `ground_truth_assistant` is the teacher's answer, if any.
 */
import type { Static } from '@sinclair/typebox';
import { UnrenderableRecord, fairForgeContract, type FAIRFORGE_SHAPES } from './render-contract.js';

type Rec = Record<string, any>;
type Shape<K extends keyof typeof FAIRFORGE_SHAPES> = Static<(typeof FAIRFORGE_SHAPES)[K]>;

export interface FairForgeOptions {
  assistantId: string;
  language: string;
}

interface Turn {
  qa_id: string;
  query: string;
  assistant: string;
  ground_truth_assistant: string;
}

/** The chunk a record belongs to, so consecutive records of one chunk form one dataset. */
export const sessionOf = (record: Rec, key: string) => String(record.chunk_id ?? key);

export function turnsOf(record: Rec, session: string, offset: number): Turn[] {
  // The export checked the record against fairForgeContract before the first byte; this is the same dispatch.
  const problem = fairForgeContract.problem(record);
  if (problem) throw new UnrenderableRecord(problem.path, problem.message);
  const shape = fairForgeContract.shapeOf(record)!;
  if (shape === 'turns') {
    return (record as Shape<'turns'>).turns.map((t) => ({ qa_id: t.qa_id, query: t.query, assistant: '', ground_truth_assistant: t.answer ?? '' }));
  }
  if (shape === 'question') {
    const r = record as Shape<'question'>;
    return [{ qa_id: `${session}_q${offset + 1}`, query: r.question, assistant: '', ground_truth_assistant: r.answer ?? '' }];
  }
  const messages = (record as Shape<'messages'>).messages;
  const turns: Turn[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'user') return;
    const next = messages[i + 1];
    turns.push({ qa_id: `${session}_t${turns.length + 1}`, query: m.content, assistant: '', ground_truth_assistant: next?.role === 'assistant' ? next.content : '' });
  });
  return turns;
}

export function fairForgeDataset(session: string, records: Rec[], options: FairForgeOptions) {
  const conversation: Turn[] = [];
  for (const r of records) conversation.push(...turnsOf(r, session, conversation.length));
  const context = records.map((r) => r.context).find((c) => typeof c === 'string') ?? '';
  return { session_id: session, assistant_id: options.assistantId, language: records.find((r) => r.language)?.language ?? options.language, context, conversation };
}
