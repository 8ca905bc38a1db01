import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { createProviderFetch, type ResponseObserver } from './fetch.js';
import { LlmError } from './llm.errors.js';
import type { TeacherCall } from './middleware.js';
import type { Provider } from './providers.js';
import type { TeacherRequest, TeacherResponse, ToolCall, ToolChoice } from './teacher-request.js';
import { mapSdkError, parseJson } from './sdk-errors.js';

/** Chat completions: tools as functions, tool results as `role: 'tool'` messages, the answer schema as a strict response_format. */
export function openaiAdapter(provider: Provider, observe?: ResponseObserver): TeacherCall {
  // The SDK retries 408/409/429/5xx and connection errors with jittered backoff and honours Retry-After.
  const client = new OpenAI({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency, observe) });
  return async ({ model, request: req }, signal) => {
    try {
      const res = await client.chat.completions.create(openaiBody(model, req), { signal });
      return openaiAnswer(provider, res, req.response !== undefined);
    } catch (err) {
      throw mapSdkError(provider, err, OpenAI);
    }
  };
}

/** The chat-completions body of a request: what the adapter sends and a batch line carries (src/llm/batch/). */
export function openaiBody(model: string, req: TeacherRequest): ChatCompletionCreateParamsNonStreaming {
  const tools = req.tools?.length ? req.tools.map(toFunction) : undefined;
  return {
    model,
    messages: toMessages(req),
    temperature: req.temperature,
    max_tokens: req.max_tokens,
    // tool_choice without tools is a 400 at OpenAI.
    ...(tools ? { tools, tool_choice: toToolChoice(req.tool_choice ?? 'auto') } : {}),
    ...(req.response ? { response_format: { type: 'json_schema', json_schema: { name: req.response.name, schema: req.response.schema, strict: true } } } : {}),
  };
}

/** A chat completion as a TeacherResponse; `structured`: a response schema was asked for, so JSON text is parsed. */
export function openaiAnswer(provider: Provider, res: ChatCompletion, structured: boolean): TeacherResponse {
  const choice = res.choices[0];
  // prompt_tokens counts the cached ones too; they are billed at the cached rate (pricing.ts).
  const usage = { input: res.usage?.prompt_tokens ?? 0, output: res.usage?.completion_tokens ?? 0, cached: res.usage?.prompt_tokens_details?.cached_tokens ?? 0 };
  if (!choice) throw new LlmError('api', `${provider.name} returned no choices`, { retryable: true });
  const { message } = choice;
  if (message.refusal) return { text: '', tool_calls: [], finish: 'refusal', refusal: message.refusal, usage };
  const calls: ToolCall[] = (message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: parseJson(c.function.arguments) ?? c.function.arguments }] : []));
  const text = message.content ?? '';
  const finish = choice.finish_reason === 'length' ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
  return { text, parsed: structured && text ? parseJson(text) : undefined, tool_calls: calls, finish, usage };
}

function toMessages(req: TeacherRequest): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = req.system ? [{ role: 'system', content: req.system }] : [];
  for (const m of req.messages) {
    if (m.role === 'tool') out.push({ role: 'tool', tool_call_id: m.tool_call_id, content: m.content });
    else if (m.role === 'assistant' && m.tool_calls?.length) {
      const tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: argumentsText(c.arguments) } }));
      out.push({ role: 'assistant', content: m.content || null, tool_calls });
    } else out.push({ role: m.role, content: m.content });
  }
  return out;
}

/** Arguments go back as the JSON text they came as; text that was never JSON goes back untouched. */
const argumentsText = (args: unknown) => (typeof args === 'string' ? args : JSON.stringify(args ?? {}));

const toFunction = (t: NonNullable<TeacherRequest['tools']>[number]): ChatCompletionTool => ({
  type: 'function',
  // Strict, like the response schema: the wire schema is already closed and fully required.
  function: { name: t.name, description: t.description, parameters: t.parameters, strict: true },
});

const toToolChoice = (choice: ToolChoice): ChatCompletionToolChoiceOption =>
  typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
