import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ChatTurn, RECORD_SHAPES, type ChatShape } from '../records/record-shapes.js';
import { chatProblem, claimedShape, isChatShape, type RecordProblem } from '../records/shape-of.js';
import { toMessages } from '../records/to-messages.js';
import { argumentsObject } from './tool-formats.js';

export { UnrenderableRecord, type RecordProblem } from '../records/shape-of.js';

/**
 * What a stored record must look like for each export format to render it: the renderers' input
 * contract. The export checks every record against it before the first byte, and the renderers
 * read records through the same contract, so a record that passes cannot fail halfway through a
 * stream. The chat formats take the record shapes of `services/records/` that hold a chat.
 */
type Rec = Record<string, unknown>;

export interface Contract<K extends string> {
  name: string;
  /** The shape a record is rendered as, or undefined when it has none of the shape keys. */
  shapeOf(record: Rec): K | undefined;
  /** Why the record cannot be rendered, or undefined when it can. */
  problem(record: Rec): RecordProblem | undefined;
}

const chatShapeOf = (record: Rec) => {
  const shape = claimedShape(record);
  return isChatShape(shape) ? shape : undefined;
};

/** chatml, messages and sharegpt: every chat shape, tool calls included. */
export const chatContract: Contract<ChatShape> = { name: 'chat', shapeOf: chatShapeOf, problem: chatProblem };

export const ALPACA_NO_TOOLS = 'is a tool-call conversation, which alpaca cannot hold; export it as chatml, messages or sharegpt';

/** Alpaca has no place for tool calls or their results. */
export const alpacaContract: Contract<ChatShape> = {
  name: 'alpaca',
  shapeOf: chatShapeOf,
  problem: (record) => chatProblem(record) ?? (claimedShape(record) === 'tool_conversation' ? { path: '', message: ALPACA_NO_TOOLS } : undefined),
};

const FUNCTION_CALLING_ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/** Where the record holds its i-th chat message: conversations 1:1, ShareGPT after the system turn it adds. */
function messagePath(record: Rec, messages: number, i: number): string {
  const shape = claimedShape(record);
  if (shape === 'conversation' || shape === 'tool_conversation') return `messages.${i}`;
  if (shape === 'sharegpt' && Array.isArray(record.conversations)) return `conversations.${i - (messages - record.conversations.length)}`;
  return '';
}

/**
 * What a function-calling trainer reads from a chat: the four roles OpenAI and the chat templates
 * know, tool results that answer a call (an imported ShareGPT `observation` answers none), and
 * arguments that are a JSON object (TRL and xLAM write them as objects; OpenAI would train on text
 * that is no call).
 */
function functionCallingProblem(record: Rec): RecordProblem | undefined {
  const chat = chatProblem(record);
  if (chat) return chat;
  const messages = toMessages(record);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const at = messagePath(record, messages.length, i);
    if (!FUNCTION_CALLING_ROLES.has(m.role)) return { path: at ? `${at}.role` : '', message: `has role "${m.role}"; function-calling formats take system, user, assistant and tool` };
    if (m.role === 'tool' && m.tool_call_id === undefined) return { path: at, message: 'is a tool result that answers no tool call' };
    const calls = m.tool_calls ?? [];
    for (let j = 0; j < calls.length; j++) {
      if (!argumentsObject(calls[j])) return { path: `${at}.tool_calls.${j}.function.arguments`, message: 'is not a JSON object' };
    }
  }
  return undefined;
}

/** openai and trl: every chat shape whose turns a function-calling trainer reads. */
export const functionCallingContract: Contract<ChatShape> = { name: 'function_calling', shapeOf: chatShapeOf, problem: functionCallingProblem };

export const XLAM_TOOLS_ONLY = 'is not a tool-call conversation, which is all xlam holds (a query, the tools, the calls); export it as openai, trl, chatml or messages';

/** xLAM holds one query and the calls that answer it, so only tool-call conversations with one user turn and the tools listed. */
export const xlamContract: Contract<ChatShape> = {
  name: 'xlam',
  shapeOf: chatShapeOf,
  problem(record) {
    const problem = functionCallingProblem(record);
    if (problem) return problem;
    if (claimedShape(record) !== 'tool_conversation') return { path: '', message: XLAM_TOOLS_ONLY };
    const users = toMessages(record).filter((m) => m.role === 'user').length;
    if (users !== 1) return { path: 'messages', message: `has ${users} user turns; xlam holds exactly one query` };
    if (!Array.isArray(record.tools) || record.tools.length === 0) return { path: 'tools', message: 'lists no tools; xlam needs the tools offered' };
    return undefined;
  },
};

const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));

/**
 * Fair-Forge groups records by chunk and reads evaluation turns, a question (its answer, the
 * ground truth, may be missing) or chat messages, in that order: its own reading, since a
 * generated conversation carries both `turns` and `messages` and an evaluation set may hold
 * questions without answers.
 */
const FairForgeRecord = { chunk_id: Type.Optional(Type.Union([Type.String(), Type.Number()])), language: OptionalText };
export const FAIRFORGE_SHAPES = {
  turns: Type.Object({ ...FairForgeRecord, turns: Type.Array(RECORD_SHAPES.turns.properties.turns.items) }),
  question: Type.Object({ ...FairForgeRecord, question: Type.String(), answer: OptionalText }),
  messages: Type.Object({ ...FairForgeRecord, messages: Type.Array(ChatTurn) }),
};
export type FairForgeShape = keyof typeof FAIRFORGE_SHAPES;

function keyedContract<K extends string>(name: string, shapes: Record<K, TSchema>, none: string): Contract<K> {
  const keys = Object.keys(shapes) as K[];
  const checks = Object.fromEntries(keys.map((k) => [k, TypeCompiler.Compile(shapes[k])])) as Record<K, TypeCheck<TSchema>>;
  const shapeOf = (record: Rec) => keys.find((k) => Object.hasOwn(record, k));
  return {
    name,
    shapeOf,
    problem(record) {
      const shape = shapeOf(record);
      if (!shape) return { path: '', message: none };
      const check = checks[shape];
      if (check.Check(record)) return undefined;
      const error = check.Errors(record).First()!;
      return { path: error.path.split('/').filter(Boolean).join('.'), message: error.message.toLowerCase() };
    },
  };
}

export const fairForgeContract = keyedContract('fairforge', FAIRFORGE_SHAPES, 'has none of turns, question, messages');

/** The contract a format's renderer relies on; `jsonl` writes records as stored and needs none. */
export function contractFor(format: string): Contract<string> | undefined {
  if (format === 'jsonl') return undefined;
  if (format === 'fairforge') return fairForgeContract;
  if (format === 'openai' || format === 'trl') return functionCallingContract;
  if (format === 'xlam') return xlamContract;
  return format === 'alpaca' ? alpacaContract : chatContract;
}

/**
 * The contracts records are tagged with when written, and the tag version that added each
 * (datasets.tag_version, whose column default is the newest): a dataset made before a contract was
 * tagged is read once for it (render-check.ts) instead of trusting tags that never asked. xLAM is
 * not tagged: it refuses every record that is not a tool call, so its tag would sit on nearly every
 * record (and in the index of refused records) of every dataset, for a format few export.
 */
const TAGGED_SINCE = new Map<Contract<string>, number>([
  [chatContract, 1],
  [alpacaContract, 1],
  [fairForgeContract, 1],
  [functionCallingContract, 2],
]);
const CONTRACTS = [...TAGGED_SINCE.keys()];
export const isTagged = (contract: Contract<string>, tagVersion: number) => (TAGGED_SINCE.get(contract) ?? Infinity) <= tagVersion;

/**
 * The contracts that refuse `record`, as stored with it (`records.unrenderable`): `chat,alpaca`,
 * or null when every format renders it. Decided once, when the record is written, so that an
 * export need not read every record to know it can render them all.
 */
export function refusedBy(record: unknown): string | null {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return CONTRACTS.map((c) => c.name).join(',');
  const refused = CONTRACTS.filter((c) => c.problem(record as Rec) !== undefined).map((c) => c.name);
  return refused.length > 0 ? refused.join(',') : null;
}
