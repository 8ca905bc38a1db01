import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { CHAT_SHAPES, RECORD_SHAPES, ToolCall, TOOL_TURNS, type ChatShape, type ShapeName, type ToolTurnRole } from './record-shapes.js';

type Rec = Record<string, unknown>;

export interface RecordProblem {
  /** Dotted path inside the record (`question`, `messages.2.content`), or '' for the record itself. */
  path: string;
  message: string;
}

/** A record a reader cannot use as the shape it claims; `path` is the field inside the record. */
export class UnrenderableRecord extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || 'record'}: ${reason}`);
    this.name = 'UnrenderableRecord';
  }
}

const isObject = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A conversation is a tool-call conversation once a turn calls a tool or answers a call. */
function callsTools(messages: unknown): boolean {
  return Array.isArray(messages) && messages.some((m) => isObject(m) && ((Array.isArray(m.tool_calls) && m.tool_calls.length > 0) || Object.hasOwn(m, 'tool_call_id')));
}

/** Non-empty text or a non-empty list: a record with it is CoT, and is checked as CoT. */
const hasReasoning = (r: unknown) => (typeof r === 'string' && r !== '') || (Array.isArray(r) && r.length > 0);

/**
 * A pair's chain of thought. Curate writes its judge's verdict as a flat `reasoning` too (Generator's
 * field, beside `curation.reasoning`); that copy is the judge's, not the pair's, and is read as none.
 */
export const pairReasoning = (record: Rec): unknown =>
  isObject(record.curation) && typeof record.reasoning === 'string' && record.reasoning === record.curation.reasoning ? undefined : record.reasoning;

/** The record as a pair's readers see it: without a judge's `reasoning` copy. */
const asPair = (record: Rec): Rec => {
  if (pairReasoning(record) !== undefined || !Object.hasOwn(record, 'reasoning')) return record;
  const { reasoning: _judge, ...rest } = record;
  return rest;
};

/**
 * A record's shape is decided by the first of these keys it has, then by what is beside it: so
 * `{ messages: 5, question: "q", answer: "a" }` is a broken conversation, not a pair, and every
 * reader (export, curate, enrich) takes a record for the same thing.
 */
const CLAIMS: Array<[key: string, pick: (r: Rec) => ShapeName]> = [
  ['messages', (r) => (callsTools(r.messages) ? 'tool_conversation' : 'conversation')],
  ['question', (r) => (!Object.hasOwn(r, 'answer') && Object.hasOwn(r, 'response') ? 'knowledge' : hasReasoning(pairReasoning(r)) ? 'cot' : 'qa')],
  ['instruction', () => 'alpaca'],
  ['conversations', () => 'sharegpt'],
  ['turns', () => 'turns'],
  ['topic', () => 'topic_node'],
];

/** The shape a record's keys claim, whether or not its fields fit it. */
export function claimedShape(record: Rec): ShapeName | undefined {
  for (const [key, pick] of CLAIMS) if (Object.hasOwn(record, key)) return pick(record);
  return undefined;
}

const compile = (schema: TSchema) => TypeCompiler.Compile(schema);
const CHECKS = Object.fromEntries(Object.entries(RECORD_SHAPES).map(([k, s]) => [k, compile(s)])) as Record<ShapeName, TypeCheck<TSchema>>;
const TURN_CHECKS = Object.fromEntries(Object.entries(TOOL_TURNS).map(([k, s]) => [k, compile(s)])) as Record<ToolTurnRole, TypeCheck<TSchema>>;
// The tool conversation is checked turn by turn (by role) so a problem names the field, not "expected union value".
const TOOL_CALL = compile(ToolCall);
const TOOL_FRAME = compile(Type.Object({ messages: Type.Array(Type.Unknown(), { minItems: 1 }), tools: RECORD_SHAPES.tool_conversation.properties.tools }));

function firstError(check: TypeCheck<TSchema>, value: unknown, prefix = ''): RecordProblem | undefined {
  if (check.Check(value)) return undefined;
  const error = check.Errors(value).First()!;
  return { path: [prefix, ...error.path.split('/')].filter(Boolean).join('.'), message: error.message.toLowerCase() };
}

function toolConversationProblem(record: Rec): RecordProblem | undefined {
  const frame = firstError(TOOL_FRAME, record);
  if (frame) return frame;
  const called = new Set<string>();
  const messages = record.messages as unknown[];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) return { path: `messages.${i}`, message: 'expected object' };
    const role = typeof m.role === 'string' && Object.hasOwn(TURN_CHECKS, m.role) ? (m.role as ToolTurnRole) : undefined;
    if (!role) return { path: `messages.${i}.role`, message: 'expected one of "system", "user", "assistant", "tool"' };
    // Calls first: inside the turn's `tool_calls: [...] | null` a broken call would only say "expected union value".
    const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
    for (let j = 0; j < calls.length; j++) {
      const problem = firstError(TOOL_CALL, calls[j], `messages.${i}.tool_calls.${j}`);
      if (problem) return problem;
    }
    const problem = firstError(TURN_CHECKS[role], m, `messages.${i}`);
    if (problem) return problem;
    const turn = m as { content?: string | null; tool_calls?: Array<{ id: string }> | null; tool_call_id?: string };
    if (role === 'assistant' && turn.content == null && !turn.tool_calls?.length) return { path: `messages.${i}`, message: 'an assistant turn needs content or tool_calls' };
    for (const call of turn.tool_calls ?? []) called.add(call.id);
    if (role === 'tool' && !called.has(turn.tool_call_id!)) return { path: `messages.${i}.tool_call_id`, message: 'answers no earlier tool call' };
  }
  return undefined;
}

/** Why `record` does not fit `shape`, or undefined when it does. */
export function shapeProblem(record: Rec, shape: ShapeName): RecordProblem | undefined {
  if (shape === 'tool_conversation') return toolConversationProblem(record);
  return firstError(CHECKS[shape], shape === 'qa' || shape === 'cot' ? asPair(record) : record);
}

/** The record's shape, or undefined when it claims none or does not fit the one it claims. */
export function shapeOf(record: Rec): ShapeName | undefined {
  const shape = claimedShape(record);
  return shape && !shapeProblem(record, shape) ? shape : undefined;
}

const CHAT = new Set<ShapeName>(CHAT_SHAPES);
export const isChatShape = (shape: ShapeName | undefined): shape is ChatShape => shape !== undefined && CHAT.has(shape);
export const NO_CHAT = 'has none of messages, question+answer, question+response, instruction+output, conversations';

/** Why the record holds no chat `toMessages` can render, or undefined when it does. */
export function chatProblem(record: Rec): RecordProblem | undefined {
  const shape = claimedShape(record);
  return isChatShape(shape) ? shapeProblem(record, shape) : { path: '', message: NO_CHAT };
}
