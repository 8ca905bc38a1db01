import Anthropic from '@anthropic-ai/sdk';
import { createProviderFetch, type ResponseObserver } from './fetch.js';
import { LlmError } from './llm.errors.js';
import type { TeacherCall } from './middleware.js';
import type { Provider } from './providers.js';
import type { TeacherRequest, TeacherResponse, ToolCall, ToolChoice } from './teacher-request.js';
import { mapSdkError, parseJson } from './sdk-errors.js';

/**
 * Messages API: tool calls are `tool_use` blocks, results `tool_result` blocks in the next user
 * turn. A structured answer is a forced call of one more tool whose input is the answer.
 */
export function anthropicAdapter(provider: Provider, observe?: ResponseObserver): TeacherCall {
  const client = new Anthropic({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency, observe) });
  return async ({ model, request: req }, signal) => {
    try {
      const res = await client.messages.create(anthropicParams(model, req), { signal });
      return anthropicAnswer(res, req.response && answerNamed(req.response.name));
    } catch (err) {
      throw mapSdkError(provider, err, Anthropic);
    }
  };
}

/** The messages params of a request: what the adapter sends and a batch request carries (src/llm/batch/). */
export function anthropicParams(model: string, req: TeacherRequest): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model,
    max_tokens: req.max_tokens ?? 4096,
    system: req.system,
    // No temperature: Anthropic's current API and SDK no longer accept it.
    messages: toMessages(req),
    ...toolsOf(req),
  };
}

/** Which tool_use block is the structured answer (the tool named like the response schema). */
export type AnswerTool = (toolName: string) => boolean;

export const answerNamed = (name: string): AnswerTool => (toolName) => toolName === name;

/**
 * A message as a TeacherResponse. `answerTool` is set when a response schema was asked for: the
 * block it names is the answer (parsed), any other tool_use a tool call.
 */
export function anthropicAnswer(res: Anthropic.Message, answerTool: AnswerTool | undefined): TeacherResponse {
  // input_tokens leaves out cache reads and writes: input is all three, cache reads billed at the cached rate (pricing.ts).
  const cached = res.usage.cache_read_input_tokens ?? 0;
  const usage = { input: res.usage.input_tokens + cached + (res.usage.cache_creation_input_tokens ?? 0), output: res.usage.output_tokens, cached };
  const stop = res.stop_reason as string | null;
  if (stop === 'refusal') return { text: '', tool_calls: [], finish: 'refusal', refusal: textOf(res.content), usage };
  const uses = res.content.flatMap((b) => (b.type === 'tool_use' ? [b] : []));
  const answer = answerTool && uses.find((b) => answerTool(b.name));
  const calls: ToolCall[] = uses.filter((b) => b !== answer).map((b) => ({ id: b.id, name: b.name, arguments: b.input }));
  const finish = stop === 'max_tokens' ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
  if (answer) return { text: JSON.stringify(answer.input), parsed: answer.input, tool_calls: calls, finish, usage };
  const text = textOf(res.content);
  return { text, parsed: answerTool && text ? parseJson(text) : undefined, tool_calls: calls, finish, usage };
}

const textOf = (blocks: Anthropic.ContentBlock[]) => blocks.map((b) => (b.type === 'text' ? b.text : '')).join('');

/** Tool results of one turn share one user message, tool_result blocks first, as the API requires. */
function toMessages(req: TeacherRequest): Anthropic.MessageParam[] {
  const out: Anthropic.MessageParam[] = [];
  let results: Anthropic.ContentBlockParam[] | undefined;
  for (const m of req.messages) {
    if (m.role === 'tool') {
      const block: Anthropic.ToolResultBlockParam = { type: 'tool_result', tool_use_id: m.tool_call_id, content: m.content };
      if (results) results.push(block);
      else out.push({ role: 'user', content: (results = [block]) });
      continue;
    }
    if (m.role === 'user' && results) {
      results.push({ type: 'text', text: m.content });
    } else if (m.role === 'assistant' && m.tool_calls?.length) {
      const uses = m.tool_calls.map((c): Anthropic.ToolUseBlockParam => ({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments }));
      out.push({ role: 'assistant', content: [...(m.content ? [{ type: 'text' as const, text: m.content }] : []), ...uses] });
    } else {
      out.push({ role: m.role, content: m.content });
    }
    results = undefined;
  }
  return out;
}

/**
 * With a response schema the answer is one more tool (named like the schema), forced unless the
 * caller's tools come first:
 * - no tools, or tool_choice 'none': the answer tool is forced (the caller's stay defined, for the
 *   tool_use blocks already in the conversation);
 * - 'auto': the caller's tools plus the answer tool, `any` of them: a call or the answer;
 * - 'required' or a named tool: the caller's tools only; the answer is due on a later turn.
 */
function toolsOf(req: TeacherRequest): Pick<Anthropic.MessageCreateParamsNonStreaming, 'tools' | 'tool_choice'> {
  const offered = (req.tools ?? []).map((t): Anthropic.Tool => ({ name: t.name, description: t.description, input_schema: inputSchema(t.parameters) }));
  const choice = req.tool_choice ?? 'auto';
  if (!req.response) return offered.length ? { tools: offered, tool_choice: toToolChoice(choice) } : {};
  const answer: Anthropic.Tool = { name: req.response.name, description: 'Record your answer.', input_schema: inputSchema(req.response.schema) };
  if (offered.some((t) => t.name === answer.name)) throw new LlmError('api', `a tool is named "${answer.name}", like the response schema`);
  if (offered.length === 0 || choice === 'none') return { tools: [...offered, answer], tool_choice: { type: 'tool', name: answer.name } };
  if (choice === 'auto') return { tools: [...offered, answer], tool_choice: { type: 'any' } };
  return { tools: offered, tool_choice: toToolChoice(choice) };
}

const toToolChoice = (choice: ToolChoice): Anthropic.ToolChoice =>
  choice === 'auto' ? { type: 'auto' } : choice === 'none' ? { type: 'none' } : choice === 'required' ? { type: 'any' } : { type: 'tool', name: choice.name };

const inputSchema = (schema: Record<string, unknown>): Anthropic.Tool.InputSchema => ({ ...schema, type: 'object' });
