import { claimedShape } from '../records/shape-of.js';
import { toMessages, toolsOf, type ChatMessage, type KnowledgeContext } from '../records/to-messages.js';
import { ALPACA_NO_TOOLS, UnrenderableRecord, XLAM_TOOLS_ONLY } from './render-contract.js';
import { offeredTools, openaiLine, trlLine, xlamLine, type ToolsStrategy } from './tool-formats.js';

/** Training formats. Every chat format is built from the record's chat messages (`toMessages`). */
export const EXPORT_FORMATS = ['chatml', 'messages', 'alpaca', 'sharegpt', 'openai', 'trl', 'xlam', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface RenderOptions {
  /** Adds (or replaces) the system turn. */
  systemPrompt?: string;
  /** What a knowledge record's user turn holds besides the question. */
  knowledgeContext?: KnowledgeContext;
  /** Which tool schemas a tool-call conversation lists (`jsonl` writes records as stored). */
  toolsStrategy?: ToolsStrategy;
}

type Rec = Record<string, unknown>;

const text = (m: ChatMessage) => m.content ?? '';

/** A tool call as LLaMA-Factory's ShareGPT reads it: the name and the arguments as JSON, not as text. */
function functionCall(call: { function: { name: string; arguments: string } }) {
  try {
    return { name: call.function.name, arguments: JSON.parse(call.function.arguments) as unknown };
  } catch {
    return { name: call.function.name, arguments: call.function.arguments };
  }
}

/**
 * Results of parallel calls in one observation turn, as LLaMA-Factory's own OpenAI converter joins
 * them: its templates wrap an observation in `<tool_response>…</tool_response>`, so each result
 * gets its own block, as Qwen's and Hermes' templates render consecutive tool turns.
 */
const PARALLEL_RESULTS = '\n</tool_response>\n<tool_response>\n';

/**
 * ShareGPT turns, LLaMA-Factory style: an assistant's tool calls become one `function_call` turn
 * (what it wrote beside them is not kept: the format alternates calls and results), results of
 * one round of calls one `observation` turn.
 */
function shareGptTurns(turns: ChatMessage[]) {
  const out: Array<{ from: string; value: string }> = [];
  for (let i = 0; i < turns.length; i++) {
    const m = turns[i];
    if (m.role === 'assistant' && m.tool_calls?.length) {
      const calls = m.tool_calls.map(functionCall);
      out.push({ from: 'function_call', value: JSON.stringify(calls.length === 1 ? calls[0] : calls) });
    } else if (m.role === 'tool' && m.tool_call_id !== undefined) {
      const results = [text(m)];
      while (turns[i + 1]?.role === 'tool') results.push(text(turns[++i]));
      out.push({ from: 'observation', value: results.join(PARALLEL_RESULTS) });
    } else {
      out.push({ from: m.role === 'user' ? 'human' : m.role === 'assistant' ? 'gpt' : 'observation', value: text(m) });
    }
  }
  return out;
}

/**
 * Renders one stored record in the requested format (one JSONL line, without the newline);
 * `knowledgeContext` puts a knowledge record's document (or outline) into its user turn.
 */
export function render(format: ExportFormat, record: Rec, options: RenderOptions = {}): Rec {
  if (format === 'jsonl') return record;
  const shape = claimedShape(record);
  if (format === 'alpaca' && shape === 'tool_conversation') throw new UnrenderableRecord('', ALPACA_NO_TOOLS);
  const messages = toMessages(record, { system: options.systemPrompt, separateReasoning: format === 'messages', knowledgeContext: options.knowledgeContext });
  const tools = offeredTools(toolsOf(record), messages, options.toolsStrategy ?? 'all');
  if (format === 'chatml' || format === 'messages') return tools ? { messages, tools } : { messages };
  if (format === 'openai') return openaiLine(messages, tools);
  if (format === 'trl') return trlLine(messages, tools);
  if (format === 'xlam') {
    if (shape !== 'tool_conversation') throw new UnrenderableRecord('', XLAM_TOOLS_ONLY);
    return xlamLine(messages, tools ?? []);
  }
  const system = messages.find((m) => m.role === 'system')?.content;
  const turns = messages.filter((m) => m.role !== 'system');
  if (format === 'sharegpt') {
    return { conversations: shareGptTurns(turns), ...(system ? { system } : {}), ...(tools ? { tools: JSON.stringify(tools.map((t) => t.function)) } : {}) };
  }
  // alpaca: the last exchange is instruction/output; earlier exchanges become history pairs.
  const lastUser = turns.map((m) => m.role).lastIndexOf('user');
  const history: Array<[string, string]> = [];
  for (let i = 0; i < lastUser; i++) {
    if (turns[i].role === 'user' && turns[i + 1]?.role === 'assistant') history.push([text(turns[i]), text(turns[i + 1])]);
  }
  const output = turns.slice(lastUser + 1).filter((m) => m.role === 'assistant').map(text).join('\n\n');
  return { instruction: turns[lastUser] ? text(turns[lastUser]) : '', input: '', output, ...(system ? { system } : {}), ...(history.length ? { history } : {}) };
}
