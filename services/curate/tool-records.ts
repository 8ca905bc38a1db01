import { claimedShape } from '../records/shape-of.js';
import { toMessages } from '../records/to-messages.js';
import { DIFFICULTIES, type Difficulty } from '../tools/tool-example.js';

type Rec = Record<string, unknown>;

export interface ToolCallView {
  tool: string;
  /** The arguments as the call's JSON text. */
  args: string;
  /** The result as the `tool` turn answering the call holds it (absent when no turn answered). */
  result?: string;
}

/** One assistant turn that calls tools: its thought and its calls, with their results. */
export interface ToolStepView {
  thought: string;
  calls: ToolCallView[];
}

/** A tool-use record as curation reads it, whether a `ToolExample` or any `tool_conversation`. */
export interface ToolView {
  instruction: string;
  difficulty?: Difficulty;
  steps: ToolStepView[];
  finalAnswer: string;
  /** Tools called, in first-call order. */
  toolsUsed: string[];
}

const isObject = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

export const isToolRecord = (data: Rec) => claimedShape(data) === 'tool_conversation';

/**
 * The record read from its chat, so a generator's `ToolExample` and an imported tool conversation are
 * judged alike: the instruction is `instruction` or else the first user turn, each assistant turn
 * with calls is a step, the last assistant turn without calls the final answer.
 */
export function toolView(data: Rec): ToolView {
  const messages = toMessages(data);
  const results = new Map(messages.filter((m) => m.role === 'tool' && m.tool_call_id).map((m) => [m.tool_call_id!, m.content ?? '']));
  const steps: ToolStepView[] = [];
  let finalAnswer = '';
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    const calls = m.tool_calls ?? [];
    if (calls.length === 0) {
      finalAnswer = m.content ?? '';
      continue;
    }
    steps.push({ thought: m.content ?? '', calls: calls.map((c) => ({ tool: c.function.name, args: c.function.arguments, result: results.get(c.id) })) });
  }
  const instruction = typeof data.instruction === 'string' ? data.instruction : (messages.find((m) => m.role === 'user')?.content ?? '');
  const difficulty = DIFFICULTIES.find((d) => d === data.difficulty);
  return { instruction, difficulty, steps, finalAnswer, toolsUsed: [...new Set(steps.flatMap((s) => s.calls.map((c) => c.tool)))] };
}

/** The first verification stage that failed (`verification.{format,execution,semantic}.passed === false`), if the record carries one. */
export function failedVerification(data: Rec): { stage: string; reason: string } | undefined {
  if (!isObject(data.verification)) return undefined;
  for (const stage of ['format', 'execution', 'semantic']) {
    const verdict = data.verification[stage];
    if (isObject(verdict) && verdict.passed === false) return { stage, reason: typeof verdict.reason === 'string' ? verdict.reason : 'failed' };
  }
  return undefined;
}

const callText = (c: ToolCallView) => `${c.tool}(${c.args})\n  result: ${c.result ?? '(none)'}`;
const stepText = (s: ToolStepView, n: number) => `Step ${n}: ${s.thought || '(no thought)'}\n${s.calls.map((c) => `  call ${callText(c)}`).join('\n')}`;

/** The example as the judge reads it: instruction, steps with their calls and results, final answer. */
export function toolJudgeText(v: ToolView): string {
  return [`Instruction: ${v.instruction}`, ...v.steps.map((s, i) => stepText(s, i + 1)), `Final answer: ${v.finalAnswer || '(none)'}`].join('\n');
}

/** One step as the turn filter rates it: the instruction and the earlier steps with their results as context (ToolMind). */
export function stepJudgeText(v: ToolView, index: number): string {
  const earlier = v.steps.slice(0, index).map((s, i) => stepText(s, i + 1));
  return [
    `Instruction: ${v.instruction}`,
    earlier.length ? `Earlier steps:\n${earlier.join('\n')}` : 'Earlier steps: none',
    `Step to rate:\n${stepText(v.steps[index], index + 1)}`,
  ].join('\n');
}
