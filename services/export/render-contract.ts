import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

/**
 * What a stored record must look like for each export format to render it: the renderers' input
 * contract. The export checks every record against it before the first byte, and the renderers
 * dispatch on the same shapes, so a record that passes cannot fail halfway through a stream.
 *
 * A record's shape is decided by the first of its shape keys that is present (as the renderers
 * read it): `{ messages: 5, question: "q", answer: "a" }` is a broken messages record, not a pair.
 */
type Rec = Record<string, unknown>;

const Str = Type.String();
const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const Message = Type.Object({ role: Str, content: Str });

/** The shapes every chat format (chatml, messages, alpaca, sharegpt) is rendered from, in precedence order. */
export const CHAT_SHAPES = {
  messages: Type.Object({ messages: Type.Array(Message, { minItems: 1 }) }),
  question: Type.Object({ question: Str, answer: Str, reasoning: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String()), Type.Null()])) }),
  instruction: Type.Object({ instruction: Str, output: Str, input: OptionalText, system: OptionalText }),
  conversations: Type.Object({ conversations: Type.Array(Type.Object({ from: Str, value: Str }), { minItems: 1 }), system: OptionalText }),
};
export type ChatShape = keyof typeof CHAT_SHAPES;

/** Fair-Forge groups records by chunk and reads turns, a pair or chat messages, in that order. */
const FairForgeRecord = { chunk_id: Type.Optional(Type.Union([Type.String(), Type.Number()])), language: OptionalText };
export const FAIRFORGE_SHAPES = {
  turns: Type.Object({ ...FairForgeRecord, turns: Type.Array(Type.Object({ qa_id: Str, query: Str, answer: OptionalText })) }),
  question: Type.Object({ ...FairForgeRecord, question: Str, answer: OptionalText }),
  messages: Type.Object({ ...FairForgeRecord, messages: Type.Array(Message) }),
};
export type FairForgeShape = keyof typeof FAIRFORGE_SHAPES;

/** A record the renderer cannot turn into the format; `path` is the field inside the record. */
export class UnrenderableRecord extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || 'record'}: ${reason}`);
    this.name = 'UnrenderableRecord';
  }
}

export interface RecordProblem {
  /** Dotted path inside the record (`question`, `messages.2.content`), or '' for the record itself. */
  path: string;
  message: string;
}

export interface Contract<K extends string> {
  name: string;
  /** The shape a record is rendered as, or undefined when it has none of the shape keys. */
  shapeOf(record: Rec): K | undefined;
  /** Why the record cannot be rendered, or undefined when it can. */
  problem(record: Rec): RecordProblem | undefined;
}

function contract<K extends string>(name: string, shapes: Record<K, TSchema>, none: string): Contract<K> {
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

export const chatContract = contract('chat', CHAT_SHAPES, 'has none of messages, question+answer, instruction+output, conversations');
export const fairForgeContract = contract('fairforge', FAIRFORGE_SHAPES, 'has none of turns, question, messages');

/** The contract a format's renderer relies on; `jsonl` writes records as stored and needs none. */
export function contractFor(format: string): Contract<string> | undefined {
  if (format === 'jsonl') return undefined;
  return format === 'fairforge' ? fairForgeContract : chatContract;
}
