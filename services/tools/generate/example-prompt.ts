import { Type, type TObject, type TUnknown } from '@sinclair/typebox';
import type { Tool } from '../tool.js';

/**
 * The answer schemas and prompt text of one tool-use example. The step schema carries the plan: a
 * required key per planned call holding that tool's own parameters schema, so a teacher under
 * constrained decoding (which follows the schema, not the prose) still calls exactly the planned
 * tools with arguments shaped like theirs. The parameters travel as `Type.Unknown` wrapping the
 * JSON Schema: the wire gets the schema, and the arguments are checked by `verifyFormat` (the
 * `check` of the call), which knows JSON Schema formats, enums and `required`.
 */

/** The instruction of an example, written for its planned chain (chain-first). */
export const InstructionAnswer = Type.Object({ instruction: Type.String({ minLength: 10 }), scenario: Type.String() });
export const FinalAnswer = Type.Object({ final_answer: Type.String({ minLength: 1 }) });
/** The semantic judge: Generator's `{correct, confidence, issues, reasoning}`. */
export const JudgeVerdict = Type.Object({
  correct: Type.Boolean(),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  issues: Type.Array(Type.String()),
  reasoning: Type.String(),
});

/** The key each call of a step answers under: the tool's name, numbered when a step calls one tool more than once. */
export function callKeys(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return names.filter((x) => x === name).length > 1 ? `${name}__${n}` : name;
  });
}

export type StepSchema = TObject<{ thought: ReturnType<typeof Type.String>; calls: TObject<Record<string, TUnknown>> }>;

/** `{ thought, calls: { <key>: <that tool's parameters> } }`, every planned call required, nothing else. */
export function stepSchema(tools: readonly Tool[], keys: readonly string[]): StepSchema {
  const calls = Object.fromEntries(keys.map((k, i) => [k, Type.Unknown({ ...tools[i].parameters })]));
  return Type.Object({ thought: Type.String({ minLength: 1 }), calls: Type.Object(calls, { additionalProperties: false }) });
}

/** What a simulated call answers: `{ result }` in the tool's `returns` schema, any JSON object when it has none. */
export const simulationSchema = (tool: Tool) => Type.Object({ result: Type.Unknown({ ...(tool.returns ?? { type: 'object' }) }) });

/** Text of a value in a prompt, cut so one large result cannot crowd out the rest. */
export function shown(value: unknown, max = 2_000): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/** A tool's documentation as the teacher reads it. */
export function toolDocs(tools: readonly Tool[]): string {
  const unique = [...new Map(tools.map((t) => [t.name, t])).values()];
  return unique
    .map((t) => {
      const returns = t.returns ? `\n  returns: ${shown(t.returns, 1_000)}` : '';
      const examples = t.examples.length ? `\n  examples: ${t.examples.slice(0, 3).join('; ')}` : '';
      return `- ${t.name}: ${t.description}\n  parameters: ${shown(t.parameters, 3_000)}${returns}${examples}`;
    })
    .join('\n');
}

export interface PlanLink {
  from: { step: number; tool: string };
  to: { step: number; tool: string; parameter: string };
}

/** The planned chain in words: `1. open_file → 2. list_keys + get_shape (in parallel)`, with what feeds what. */
export function chainText(steps: readonly string[][], links: readonly PlanLink[]): string {
  const chain = steps.map((names, s) => `${s + 1}. ${names.join(' + ')}${names.length > 1 ? ' (in parallel)' : ''}`).join(' → ');
  const feeds = links.map((l) => `${l.to.tool}.${l.to.parameter} uses the result of ${l.from.tool} (step ${l.from.step + 1})`);
  return feeds.length ? `${chain}\nData flow: ${feeds.join('; ')}.` : chain;
}

/** The links into step `s`, as a sentence for its prompt. */
export function linksInto(links: readonly PlanLink[], s: number): string {
  const into = links.filter((l) => l.to.step === s);
  if (into.length === 0) return '';
  return ` Take ${into.map((l) => `${l.to.tool}'s "${l.to.parameter}" from the result of ${l.from.tool} in step ${l.from.step + 1}`).join('; ')}.`;
}

export interface DoneCall {
  id: string;
  tool: string;
  args: Record<string, unknown>;
  result: unknown;
}

/** The steps taken so far, with their calls and results: what later arguments and the final answer build on. */
export function historyText(steps: ReadonlyArray<{ thought: string; calls: readonly DoneCall[] }>): string {
  if (steps.length === 0) return 'No calls have been made yet.';
  return steps
    .map((step, s) => [`Step ${s + 1}: ${step.thought}`, ...step.calls.map((c) => `  ${c.tool}(${shown(c.args, 1_000)})\n  → ${shown(c.result)}`)].join('\n'))
    .join('\n');
}

export const DIFFICULTY_HINTS = {
  easy: 'Easy: a direct request with every value the calls need stated plainly.',
  medium: 'Medium: a realistic task where some values must be inferred or taken from earlier results.',
  hard: 'Hard: a demanding, multi-constraint task that needs careful argument choices and real use of earlier results.',
} as const;

export function seedExamplesText(seeds: ReadonlyArray<{ instruction: string; solution?: string }>): string {
  if (seeds.length === 0) return '';
  const lines = seeds.map((s) => `- ${s.instruction}${s.solution ? `\n  solved by: ${s.solution}` : ''}`);
  return `\nRequests in the style wanted:\n${lines.join('\n')}\n`;
}

export function avoidText(avoid: readonly string[]): string {
  if (avoid.length === 0) return '';
  return `\nEarlier requests for this plan were rejected; write a clearly different one than:\n${avoid.map((a) => `- ${a}`).join('\n')}\n`;
}
