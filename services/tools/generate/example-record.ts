import type { Static } from '@sinclair/typebox';
import { toolDefinition, type Tool } from '../tool.js';
import type { Difficulty, ToolExample, ToolExampleStep } from '../tool-example.js';

export type Stage = 'format' | 'execution' | 'semantic';
type Step = Static<typeof ToolExampleStep>;
type Verification = ToolExample['verification'];

export interface ExampleParts {
  systemPrompt: string;
  instruction: string;
  scenario: string;
  difficulty: Difficulty;
  mode: 'single' | 'multi';
  steps: Step[];
  finalAnswer: string;
  offered: readonly Tool[];
  verification: Verification;
}

/** A result as a `tool` message carries it: JSON text (a string result stays as it is). */
const resultText = (result: unknown) => (typeof result === 'string' ? result : JSON.stringify(result ?? null));

/** Names of the tools called, in first-call order. */
export const toolsUsed = (steps: readonly Step[]) => [...new Set(steps.flatMap((s) => s.calls.map((c) => c.tool)))];

/**
 * The example as a `tool_conversation` record: system guidance, the user's request, per step an
 * assistant turn (the thought as content, OpenAI-style `tool_calls` with JSON-text arguments) and
 * one `tool` turn per call, then the final answer; the offered tools' documentation travels with
 * it (Gorilla: docs in every example). The solution is kept beside the chat for curation and reports.
 */
export function exampleRecord(x: ExampleParts): ToolExample {
  // An empty dataset system prompt means none (DeepFabric's include_system_message: false).
  const messages: ToolExample['messages'] = [...(x.systemPrompt ? [{ role: 'system' as const, content: x.systemPrompt }] : []), { role: 'user', content: x.instruction }];
  for (const step of x.steps) {
    messages.push({
      role: 'assistant',
      content: step.thought,
      tool_calls: step.calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.tool, arguments: JSON.stringify(c.args) } })),
    });
    for (const c of step.calls) messages.push({ role: 'tool', tool_call_id: c.id, name: c.tool, content: resultText(c.result) });
  }
  if (x.finalAnswer) messages.push({ role: 'assistant', content: x.finalAnswer });
  return {
    messages,
    tools: x.offered.map(toolDefinition),
    instruction: x.instruction,
    difficulty: x.difficulty,
    mode: x.mode,
    steps: x.steps,
    final_answer: x.finalAnswer,
    tools_used: toolsUsed(x.steps),
    verification: x.verification,
  };
}

/** The verification of an example stopped at format or execution: the checks after it were not run, and say so. */
export function failedVerification(
  mode: Verification['execution']['mode'],
  failed: { stage: Exclude<Stage, 'semantic'>; reason: string },
  format: { passed: boolean; reason?: string },
): Verification {
  const skipped = { passed: false, reason: `not checked: the ${failed.stage} check failed` };
  return {
    format: failed.stage === 'format' ? { passed: false, reason: failed.reason } : format,
    execution: failed.stage === 'execution' ? { passed: false, reason: failed.reason, mode } : { ...skipped, mode },
    semantic: { ...skipped, confidence: 0, issues: [] },
  };
}
