import type { ShapeName } from '../records/record-shapes.js';
import { shapeOf } from '../records/shape-of.js';
import { reasoningText, toMessages, type ChatMessage } from '../records/to-messages.js';

type Rec = Record<string, unknown>;

/** The shapes the judge reads (curate never asks the caller which one a record is). */
const JUDGED = new Set<ShapeName>(['qa', 'cot', 'conversation', 'tool_conversation']);

export function judgeable(data: Rec): boolean {
  const shape = shapeOf(data);
  return shape !== undefined && JUDGED.has(shape);
}

const isConversation = (shape: ShapeName | undefined) => shape === 'conversation' || shape === 'tool_conversation';

function turnText(m: ChatMessage): string {
  const calls = (m.tool_calls ?? []).map((c) => `[calls ${c.function.name}(${c.function.arguments})]`);
  return `${m.role.toUpperCase()}: ${[m.content, ...calls].filter((s) => s).join(' ')}`;
}

/** The record as the judge reads it. */
export function judgeText(data: Rec): string {
  const shape = shapeOf(data);
  if (isConversation(shape)) return toMessages(data).map(turnText).join('\n');
  if (shape === 'cot') return `Question: ${data.question}\nReasoning:\n${reasoningText(data.reasoning)}\nAnswer: ${data.answer}`;
  return `Question: ${data.question}\nAnswer: ${data.answer}`;
}

/** The question a near-duplicate check compares: the first user turn of a conversation. */
export function questionText(data: Rec): string {
  if (typeof data.question === 'string') return data.question;
  const first = isConversation(shapeOf(data)) ? toMessages(data).find((m) => m.role === 'user') : undefined;
  return first?.content ?? '';
}

export const fullText = (data: Rec) => judgeText(data);
