/**
 * Fair-Forge evaluation datasets: `{ session_id, assistant_id, language, context, conversation:
 * [{ qa_id, query, assistant, ground_truth_assistant }] }`, one per chunk. `assistant` stays empty
 * for the assistant under test to fill; `ground_truth_assistant` is the teacher's answer, if any.
 */
type Rec = Record<string, any>;

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
  if (Array.isArray(record.turns)) {
    return record.turns.map((t: Rec) => ({ qa_id: String(t.qa_id), query: String(t.query), assistant: '', ground_truth_assistant: String(t.answer ?? '') }));
  }
  if (typeof record.question === 'string') {
    return [{ qa_id: `${session}_q${offset + 1}`, query: record.question, assistant: '', ground_truth_assistant: String(record.answer ?? '') }];
  }
  const messages = (record.messages ?? []) as Array<{ role: string; content: string }>;
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
