import { Type, type Static, type TObject } from '@sinclair/typebox';

/**
 * The record shapes Quarry writes and reads, as one contract. Every schema is open: records carry
 * provenance (`chunk_id`, `source`, `model`, `topic_path`, `curation`, …) beside their shape keys,
 * and only the fields a reader relies on are checked, so a record valid yesterday stays valid.
 */
const Text = Type.String();
const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));

/** A chat turn of a conversation: any role (imported data uses its own), text content. */
export const ChatTurn = Type.Object({ role: Text, content: Text });

/** An assistant's call of a function, OpenAI-style: `arguments` is the JSON text the model wrote. */
export const ToolCall = Type.Object({ id: Text, type: Type.Literal('function'), function: Type.Object({ name: Text, arguments: Text }) });
export type ToolCall = Static<typeof ToolCall>;

/** A function the assistant was offered, OpenAI-style (`parameters` is a JSON Schema). */
export const ToolDefinition = Type.Object({
  type: Type.Literal('function'),
  function: Type.Object({ name: Text, description: Type.Optional(Text), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});
export type ToolDefinition = Static<typeof ToolDefinition>;

/** The turns of a tool-call conversation, by role; an assistant turn holds text, calls or both. */
export const TOOL_TURNS = {
  system: Type.Object({ role: Type.Literal('system'), content: Text }),
  user: Type.Object({ role: Type.Literal('user'), content: Text }),
  assistant: Type.Object({
    role: Type.Literal('assistant'),
    content: Type.Optional(Type.Union([Text, Type.Null()])),
    // Dumps of API responses carry `tool_calls: null` on turns without calls.
    tool_calls: Type.Optional(Type.Union([Type.Array(ToolCall), Type.Null()])),
  }),
  tool: Type.Object({ role: Type.Literal('tool'), tool_call_id: Text, content: Text, name: Type.Optional(Text) }),
};
export type ToolTurnRole = keyof typeof TOOL_TURNS;

/** A reasoning that is there: non-empty text, or steps in order. */
const Reasoning = Type.Union([Type.String({ minLength: 1 }), Type.Array(Text, { minItems: 1 })]);

export const RECORD_SHAPES = {
  /** generate (qa), topic samples, imports: a question and its answer; no reasoning (absent, null or empty). */
  qa: Type.Object({ question: Text, answer: Text, reasoning: Type.Optional(Type.Union([Type.Null(), Type.Literal(''), Type.Array(Text, { maxItems: 0 })])) }),
  /** generate (cot), enrich (mode cot), topic samples with reasoning: steps (or free text) that lead to the answer. */
  cot: Type.Object({ question: Text, reasoning: Reasoning, answer: Text }),
  /**
   * generate (conversation: also `turns`, `context`, `chunk_id`), topic samples (a system turn
   * first when asked, `topic_path`, `reasoning: { style, content }`), imported chat data.
   */
  conversation: Type.Object({ messages: Type.Array(ChatTurn, { minItems: 1 }) }),
  /** Messages with assistant `tool_calls` and `tool` results answering them, plus the `tools` offered. */
  tool_conversation: Type.Object({
    messages: Type.Array(Type.Union(Object.values(TOOL_TURNS)), { minItems: 1 }),
    tools: Type.Optional(Type.Array(ToolDefinition)),
  }),
  /** The knowledge flows: a question about `document` (a summary, or `raw_document` itself), the `response`, the faithfulness verdict. */
  knowledge: Type.Object({
    question: Text,
    response: Text,
    document: Type.Optional(Text),
    document_outline: Type.Optional(Text),
    raw_document: Type.Optional(Text),
    domain: Type.Optional(Text),
    summarized_document: Type.Optional(Text),
    key_fact: Type.Optional(Text),
    faithfulness_judgment: Type.Optional(Type.Union([Type.Literal('YES'), Type.Literal('NO')])),
    faithfulness_explanation: Type.Optional(Text),
  }),
  /** Imported Alpaca records. */
  alpaca: Type.Object({ instruction: Text, output: Text, input: OptionalText, system: OptionalText }),
  /** Imported ShareGPT records. */
  sharegpt: Type.Object({ conversations: Type.Array(Type.Object({ from: Text, value: Text }), { minItems: 1 }), system: OptionalText }),
  /** generate (conversation, answers: false): linked evaluation turns, Fair-Forge style; answers optional. */
  turns: Type.Object({ turns: Type.Array(Type.Object({ qa_id: Text, query: Text, answer: OptionalText }), { minItems: 1 }) }),
  /** topics: one node of a tree or graph per record (key = id); built trees add the root → node `path`. */
  topic_node: Type.Object({
    id: Text,
    topic: Text,
    depth: Type.Integer({ minimum: 0 }),
    parents: Type.Array(Text),
    topic_hash: Text,
    path: Type.Optional(Type.Array(Text)),
  }),
} satisfies Record<string, TObject>;

export type ShapeName = keyof typeof RECORD_SHAPES;
export type RecordOf<K extends ShapeName> = Static<(typeof RECORD_SHAPES)[K]>;

/** The shapes that hold a chat: `toMessages` renders them, and every chat export format reads them. */
export const CHAT_SHAPES = ['conversation', 'tool_conversation', 'qa', 'cot', 'knowledge', 'alpaca', 'sharegpt'] as const satisfies readonly ShapeName[];
export type ChatShape = (typeof CHAT_SHAPES)[number];
