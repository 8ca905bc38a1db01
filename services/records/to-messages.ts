import type { ChatShape, RecordOf, ToolCall, ToolDefinition } from './record-shapes.js';
import { chatProblem, claimedShape, pairReasoning, UnrenderableRecord } from './shape-of.js';

type Rec = Record<string, unknown>;

/**
 * A chat message as training formats read it. Conversations pass through as stored: imported ones
 * may use other roles, and an assistant turn that only calls tools may have no `content`.
 */
export interface ChatMessage {
  role: string;
  content?: string | null;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string;
  /** A CoT record's steps, kept apart from the answer (what Qwen3/DeepSeek-style trainers read). */
  reasoning_content?: string;
  [key: string]: unknown;
}

export interface ToMessagesOptions {
  /** Replaces the record's own system turns; '' keeps them. */
  system?: string;
  /** A CoT record's reasoning goes into `reasoning_content` instead of before the answer. */
  separateReasoning?: boolean;
  /**
   * A knowledge record's user turn as Red Hat's Step 04 (knowledge mixing) writes it: `document`
   * puts the outline and the document before the question, `outline` asks "In <outline>, <question>".
   */
  knowledgeContext?: KnowledgeContext;
}

export const KNOWLEDGE_CONTEXTS = ['none', 'document', 'outline'] as const;
export type KnowledgeContext = (typeof KNOWLEDGE_CONTEXTS)[number];

/** The user turn of a knowledge record under `context` (Step 04's `keep_document_in_context` and its no-document form). */
function knowledgeQuestion(r: RecordOf<'knowledge'>, context: KnowledgeContext): string {
  const outline = r.document_outline ?? '';
  if (context === 'outline') return outline ? `In ${outline}, ${r.question}` : r.question;
  if (context === 'none') return r.question;
  const document = r.document ?? r.summarized_document ?? r.raw_document ?? '';
  const head = [outline, document].filter(Boolean).join('\n');
  return head ? `${head}\n\n${r.question}` : r.question;
}

const SHAREGPT_ROLES = new Map(Object.entries({ human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system', tool: 'tool', observation: 'tool' }));

/** A CoT record's reasoning as text: steps numbered one per line, free text as it is, none as ''. */
export const reasoningText = (reasoning: unknown) =>
  Array.isArray(reasoning) ? reasoning.map((s, i) => `${i + 1}. ${s}`).join('\n') : String(reasoning ?? '');

function pairTurns(question: string, answer: string, steps: string, separateReasoning: boolean): ChatMessage[] {
  const assistant: ChatMessage = !steps
    ? { role: 'assistant', content: answer }
    : separateReasoning
      ? { role: 'assistant', content: answer, reasoning_content: steps }
      : { role: 'assistant', content: `${steps}\n\n${answer}` };
  return [{ role: 'user', content: question }, assistant];
}

/**
 * A conversation's reasoning as DeepFabric writes it (`reasoning: { style, content }`, content free
 * text or steps `{ step_number, thought }`), as text: steps one a line as DeepFabric's training guide
 * renders them (`Step 1: …`); '' when there is none. Other `reasoning` values (a judge's verdict
 * text) are not a conversation's reasoning.
 */
export function conversationReasoning(reasoning: unknown): string {
  if (!reasoning || typeof reasoning !== 'object' || Array.isArray(reasoning)) return '';
  const content = (reasoning as { content?: unknown }).content;
  if (typeof content === 'string') return content.trim();
  if (!Array.isArray(content)) return '';
  return content
    .map((s, i) => {
      const step: { step_number?: unknown; thought?: unknown } = s && typeof s === 'object' ? s : { thought: s };
      const thought = typeof step.thought === 'string' ? step.thought.trim() : '';
      return thought ? `Step ${typeof step.step_number === 'number' ? step.step_number : i + 1}: ${thought}` : '';
    })
    .filter(Boolean)
    .join('\n');
}

/**
 * A conversation with its reasoning put to the answer it leads to (the last assistant turn with
 * text): in `reasoning_content`, or before the answer in a `<thinking>` block, the form DeepFabric's
 * training guide gives (docs/training/chat-templates.md, "Including Reasoning").
 */
function withReasoning(messages: ChatMessage[], reasoning: string, separateReasoning: boolean): ChatMessage[] {
  let at = messages.length - 1;
  while (at >= 0 && !(messages[at].role === 'assistant' && typeof messages[at].content === 'string' && messages[at].content !== '')) at--;
  if (!reasoning || at < 0) return messages;
  const answer = messages[at];
  messages[at] = separateReasoning ? { ...answer, reasoning_content: reasoning } : { ...answer, content: `<thinking>${reasoning}</thinking>\n${answer.content}` };
  return messages;
}

// Each case reads a record `chatProblem` has just checked against its shape's schema.
function messagesOf(record: Rec, shape: ChatShape, separateReasoning: boolean, knowledgeContext: KnowledgeContext): ChatMessage[] {
  switch (shape) {
    case 'conversation':
    case 'tool_conversation': {
      const messages: ChatMessage[] = (record as RecordOf<'conversation'>).messages.map((m) => ({ ...m }));
      return withReasoning(messages, conversationReasoning(record.reasoning), separateReasoning);
    }
    case 'qa':
    case 'cot': {
      const r = record as RecordOf<'qa'>;
      return pairTurns(r.question, r.answer, reasoningText(pairReasoning(record)), separateReasoning);
    }
    case 'knowledge': {
      const r = record as RecordOf<'knowledge'>;
      return pairTurns(knowledgeQuestion(r, knowledgeContext), r.response, '', separateReasoning);
    }
    case 'alpaca': {
      const r = record as RecordOf<'alpaca'>;
      const input = r.input ? `\n\n${r.input}` : '';
      return [...(r.system ? [{ role: 'system', content: r.system }] : []), { role: 'user', content: `${r.instruction}${input}` }, { role: 'assistant', content: r.output }];
    }
    case 'sharegpt': {
      const r = record as RecordOf<'sharegpt'>;
      const turns: ChatMessage[] = r.conversations.map((t) => ({ role: SHAREGPT_ROLES.get(t.from) ?? 'user', content: t.value }));
      return r.system ? [{ role: 'system', content: r.system }, ...turns] : turns;
    }
  }
}

/**
 * The record as chat messages: the one reading of every chat shape that export formats, the
 * judge and new jobs build on. Throws `UnrenderableRecord` naming the field when the record holds
 * no chat or does not fit the shape it claims.
 */
export function toMessages(record: Rec, options: ToMessagesOptions = {}): ChatMessage[] {
  const problem = chatProblem(record);
  if (problem) throw new UnrenderableRecord(problem.path, problem.message);
  const messages = messagesOf(record, claimedShape(record) as ChatShape, options.separateReasoning ?? false, options.knowledgeContext ?? 'none');
  if (options.system === undefined || options.system === '') return messages;
  return [{ role: 'system', content: options.system }, ...messages.filter((m) => m.role !== 'system')];
}

/** The tools a tool-call conversation offered (OpenAI-style), if it lists any. */
export function toolsOf(record: Rec): ToolDefinition[] | undefined {
  if (claimedShape(record) !== 'tool_conversation') return undefined;
  const tools = (record as RecordOf<'tool_conversation'>).tools;
  return tools?.length ? tools : undefined;
}
