/** What kind of training record this is, detected from its fields (curate never asks the caller). */
export type RecordShape = 'qa' | 'cot' | 'conversation';

type Rec = Record<string, unknown>;
type Message = { role: string; content: string };

export function shapeOf(data: Rec): RecordShape | undefined {
  if (Array.isArray(data.messages) && data.messages.length > 0) return 'conversation';
  if (typeof data.question === 'string' && typeof data.answer === 'string') return data.reasoning ? 'cot' : 'qa';
  return undefined;
}

const steps = (r: unknown) => (Array.isArray(r) ? r.map((s, i) => `${i + 1}. ${s}`).join('\n') : String(r ?? ''));

/** The record as the judge reads it. */
export function judgeText(data: Rec): string {
  switch (shapeOf(data)) {
    case 'conversation':
      return (data.messages as Message[]).map((m) => `${m.role.toUpperCase()}: ${m.content}`).join('\n');
    case 'cot':
      return `Question: ${data.question}\nReasoning:\n${steps(data.reasoning)}\nAnswer: ${data.answer}`;
    default:
      return `Question: ${data.question}\nAnswer: ${data.answer}`;
  }
}

/** The question a near-duplicate check compares: the first user turn of a conversation. */
export function questionText(data: Rec): string {
  if (typeof data.question === 'string') return data.question;
  const first = (data.messages as Message[] | undefined)?.find((m) => m.role === 'user');
  return first?.content ?? '';
}

export const fullText = (data: Rec) => judgeText(data);
