/** Training formats. `messages` is the hub: every record is normalised to chat messages first. */
export const EXPORT_FORMATS = ['chatml', 'messages', 'alpaca', 'sharegpt', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  [key: string]: unknown;
}

/** Top-level key sets, any one of which makes a record renderable as chat (used to pre-check a dataset). */
export const CHAT_SHAPES = [['messages'], ['question', 'answer'], ['instruction', 'output'], ['conversations']];

type Rec = Record<string, unknown>;

const SHAREGPT_ROLES: Record<string, ChatMessage['role']> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system', tool: 'tool', observation: 'tool' };

const numbered = (steps: string[]) => steps.map((s, i) => `${i + 1}. ${s}`).join('\n');

/**
 * Chat messages for a record. A CoT record's reasoning goes into the assistant turn before the
 * answer, or — with `separateReasoning` — into `reasoning_content` (what Qwen3/DeepSeek-style
 * trainers read), leaving the answer as the content.
 */
export function toMessages(record: Rec, systemPrompt?: string, separateReasoning = false): ChatMessage[] {
  let messages: ChatMessage[];
  if (Array.isArray(record.messages)) {
    messages = (record.messages as ChatMessage[]).map((m) => ({ ...m }));
  } else if (typeof record.question === 'string' && typeof record.answer === 'string') {
    const steps = Array.isArray(record.reasoning) ? numbered(record.reasoning as string[]) : typeof record.reasoning === 'string' ? record.reasoning : '';
    const assistant: ChatMessage = !steps
      ? { role: 'assistant', content: record.answer }
      : separateReasoning
        ? { role: 'assistant', content: record.answer, reasoning_content: steps }
        : { role: 'assistant', content: `${steps}\n\n${record.answer}` };
    messages = [{ role: 'user', content: record.question }, assistant];
  } else if (typeof record.instruction === 'string' && typeof record.output === 'string') {
    const input = typeof record.input === 'string' && record.input ? `\n\n${record.input}` : '';
    messages = [
      ...(typeof record.system === 'string' && record.system ? [{ role: 'system' as const, content: record.system }] : []),
      { role: 'user', content: `${record.instruction}${input}` },
      { role: 'assistant', content: record.output },
    ];
  } else if (Array.isArray(record.conversations)) {
    messages = (record.conversations as Array<{ from: string; value: string }>).map((t) => ({ role: SHAREGPT_ROLES[t.from] ?? 'user', content: t.value }));
    if (typeof record.system === 'string' && record.system) messages.unshift({ role: 'system', content: record.system });
  } else {
    throw new Error('record has none of messages, question+answer, instruction+output, conversations');
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
