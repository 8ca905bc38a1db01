// Tool calls in terms both wire formats share: which tools the fake calls on a turn, and with what.
import { valueFromSchema, violateSchema, type ValueContext } from './schema-value.js';
import type { ToolKnobs } from './types.js';

export interface OfferedTool {
  name: string;
  /** JSON Schema of the arguments. */
  parameters: unknown;
}

export type Choice = 'auto' | 'none' | 'required' | { name: string };

/**
 * A forced choice (required, or a named tool) calls on every turn, as the real APIs do; `auto`
 * calls only with the `autoToolCalls` knob, and not once the last message is a tool result: then
 * the fake answers. `lastAfterResults` is for Anthropic's `any`: after tool results it calls the
 * last tool offered, which is where Quarry's adapter puts the tool that carries the final answer.
 */
export function pickTools(tools: OfferedTool[], choice: Choice, afterResults: boolean, knobs: ToolKnobs, lastAfterResults = false): OfferedTool[] {
  if (tools.length === 0 || choice === 'none') return [];
  const n = knobs.toolCallsPerTurn;
  if (typeof choice === 'object') {
    const named = tools.find((t) => t.name === choice.name);
    return named ? Array.from({ length: n }, () => named) : [];
  }
  if (choice === 'auto' && (!knobs.autoToolCalls || afterResults)) return [];
  if (lastAfterResults && afterResults) return [tools[tools.length - 1]];
  return Array.from({ length: n }, (_, k) => tools[k % tools.length]);
}

/** Arguments that follow each tool's parameter schema (or break it, for the 'schema' fault); calls differ by position. */
export function toolArguments(tools: OfferedTool[], ctx: ValueContext, violate: boolean): unknown[] {
  return tools.map((t, k) => (violate ? violateSchema(t.parameters) : valueFromSchema(t.parameters, { ...ctx, seed: ctx.seed + k })));
}
