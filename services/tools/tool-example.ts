import { Type, type Static } from '@sinclair/typebox';
import { RECORD_SHAPES } from '../records/record-shapes.js';
import { EXECUTION_MODES } from './tool.js';

/**
 * A tool-use example as `POST /v1/tools/generate` stores it. It is a `tool_conversation` record
 * (`messages` with assistant `tool_calls` and `tool` results, the `tools` offered as OpenAI-style
 * definitions: the API documentation travels with every example), so every chat export reads it;
 * the fields beside `messages` keep the solution in a form curation and reports read without
 * parsing the chat back.
 */

export const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

export const Verdict = Type.Object({
  passed: Type.Boolean(),
  /** Why it failed (or what was checked, when it passed). */
  reason: Type.Optional(Type.String()),
});

export const ToolExampleCall = Type.Object({
  /** Matches the `id` of the call in `messages` and the `tool_call_id` of its result. */
  id: Type.String(),
  tool: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Unknown(),
});

/** One step: the thought, then one call or several made in parallel. */
export const ToolExampleStep = Type.Object({
  thought: Type.String(),
  calls: Type.Array(ToolExampleCall, { minItems: 1 }),
});

export const ToolExample = Type.Composite([
  RECORD_SHAPES.tool_conversation,
  Type.Object({
    instruction: Type.String(),
    difficulty: Type.Union(DIFFICULTIES.map((d) => Type.Literal(d))),
    mode: Type.Union([Type.Literal('single'), Type.Literal('multi')]),
    steps: Type.Array(ToolExampleStep, { minItems: 1 }),
    final_answer: Type.String(),
    /** Names of the tools called, in first-call order. */
    tools_used: Type.Array(Type.String()),
    verification: Type.Object({
      format: Verdict,
      execution: Type.Composite([Verdict, Type.Object({ mode: Type.Union(EXECUTION_MODES.map((m) => Type.Literal(m))) })]),
      semantic: Type.Composite([
        Verdict,
        Type.Object({ confidence: Type.Number({ minimum: 0, maximum: 1 }), issues: Type.Array(Type.String()) }),
      ]),
    }),
  }),
]);
export type ToolExample = Static<typeof ToolExample>;
