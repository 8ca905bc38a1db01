import type { Static } from '@sinclair/typebox';
import { UnrenderableRecord, chatContract, type CHAT_SHAPES } from './render-contract.js';

/** Training formats. `messages` is the hub: every record is normalised to chat messages first. */
export const EXPORT_FORMATS = ['chatml', 'messages', 'alpaca', 'sharegpt', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  [key: string]: unknown;
}

type Rec = Record<string, unknown>;

const SHAREGPT_ROLES: Record<string, ChatMessage['role']> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system', tool: 'tool', observation: 'tool' };

type Shape<K extends keyof typeof CHAT_SHAPES> = Static<(typeof CHAT_SHAPES)[K]>;

const numbered = (steps: string[]) => steps.map((s, i) => `${i + 1}. ${s}`).join('\n');

/**
 * Chat messages for a record. A CoT record's reasoning goes into the assistant turn before the
 * answer, or — with `separateReasoning` — into `reasoning_content` (what Qwen3/DeepSeek-style
 * trainers read), leaving the answer as the content.
 */
export function toMessages(record: Rec, systemPrompt?: string, separateReasoning = false): ChatMessage[] {
  let messages: ChatMessage[];
  // The export checked the record against chatContract before the first byte; this is the same dispatch.
  const problem = chatContract.problem(record);
  if (problem) throw new UnrenderableRecord(problem.path, problem.message);
  const shape = chatContract.shapeOf(record)!;
  if (shape === 'messages') {
    messages = (record as Shape<'messages'>).messages.map((m) => ({ ...m }) as ChatMessage);
  } else if (shape === 'question') {
    const r = record as Shape<'question'>;
    const steps = Array.isArray(r.reasoning) ? numbered(r.reasoning) : (r.reasoning ?? '');
    const assistant: ChatMessage = !steps
      ? { role: 'assistant', content: r.answer }
      : separateReasoning
        ? { role: 'assistant', content: r.answer, reasoning_content: steps }
        : { role: 'assistant', content: `${steps}\n\n${r.answer}` };
    messages = [{ role: 'user', content: r.question }, assistant];
  } else if (shape === 'instruction') {
    const r = record as Shape<'instruction'>;
    const input = r.input ? `\n\n${r.input}` : '';
    messages = [...(r.system ? [{ role: 'system' as const, content: r.system }] : []), { role: 'user', content: `${r.instruction}${input}` }, { role: 'assistant', content: r.output }];
  } else {
    const r = record as Shape<'conversations'>;
    messages = r.conversations.map((t) => ({ role: SHAREGPT_ROLES[t.from] ?? 'user', content: t.value }));
    if (r.system) messages.unshift({ role: 'system', content: r.system });
  }
  if (systemPrompt !== undefined && systemPrompt !== '') {
    messages = [{ role: 'system', content: systemPrompt }, ...messages.filter((m) => m.role !== 'system')];
  }
  return messages;
}

/** Renders one stored record in the requested format (one JSONL line, without the newline). */
export function render(format: ExportFormat, record: Rec, systemPrompt?: string): Rec {
  if (format === 'jsonl') return record;
  const messages = toMessages(record, systemPrompt, format === 'messages');
  if (format === 'chatml' || format === 'messages') return { messages };
  const system = messages.find((m) => m.role === 'system')?.content;
  const turns = messages.filter((m) => m.role !== 'system');
  if (format === 'sharegpt') {
    return { conversations: turns.map((m) => ({ from: m.role === 'user' ? 'human' : m.role === 'assistant' ? 'gpt' : 'observation', value: m.content })), ...(system ? { system } : {}) };
  }
  // alpaca: the last exchange is instruction/output; earlier exchanges become history pairs.
  const lastUser = turns.map((m) => m.role).lastIndexOf('user');
  const history: Array<[string, string]> = [];
  for (let i = 0; i < lastUser; i++) {
    if (turns[i].role === 'user' && turns[i + 1]?.role === 'assistant') history.push([turns[i].content, turns[i + 1].content]);
  }
  const output = turns.slice(lastUser + 1).filter((m) => m.role === 'assistant').map((m) => m.content).join('\n\n');
  return { instruction: turns[lastUser]?.content ?? '', input: '', output, ...(system ? { system } : {}), ...(history.length ? { history } : {}) };
}
