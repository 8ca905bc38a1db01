import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ChatTurn, RECORD_SHAPES, type ChatShape } from '../records/record-shapes.js';
import { chatProblem, claimedShape, isChatShape, type RecordProblem } from '../records/shape-of.js';

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
  return format === 'alpaca' ? alpacaContract : chatContract;
}

const CONTRACTS: Array<Contract<string>> = [chatContract, alpacaContract, fairForgeContract];

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
