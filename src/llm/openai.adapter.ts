import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { createProviderFetch } from './fetch.js';
import { LlmError } from './llm.errors.js';
import type { TeacherCall } from './middleware.js';
import type { Provider } from './providers.js';
import type { TeacherRequest, ToolCall, ToolChoice } from './teacher-request.js';
import { mapSdkError, parseJson } from './sdk-errors.js';

/** Chat completions: tools as functions, tool results as `role: 'tool'` messages, the answer schema as a strict response_format. */
export function openaiAdapter(provider: Provider): TeacherCall {
  // The SDK retries 408/409/429/5xx and connection errors with jittered backoff and honours Retry-After.
  const client = new OpenAI({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency) });
  return async ({ model, request: req }, signal) => {
    try {
      const tools = req.tools?.length ? req.tools.map(toFunction) : undefined;
      const res = await client.chat.completions.create(
        {
          model,
          messages: toMessages(req),
          temperature: req.temperature,
          max_tokens: req.max_tokens,
          // tool_choice without tools is a 400 at OpenAI.
          ...(tools ? { tools, tool_choice: toToolChoice(req.tool_choice ?? 'auto') } : {}),
          ...(req.response ? { response_format: { type: 'json_schema', json_schema: { name: req.response.name, schema: req.response.schema, strict: true } } } : {}),
        },
        { signal },
      );
      const choice = res.choices[0];
      const usage = { input: res.usage?.prompt_tokens ?? 0, output: res.usage?.completion_tokens ?? 0 };
      if (!choice) throw new LlmError('api', `${provider.name} returned no choices`, { retryable: true });
      const { message } = choice;
      if (message.refusal) return { text: '', tool_calls: [], finish: 'refusal', refusal: message.refusal, usage };
      const calls: ToolCall[] = (message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: parseJson(c.function.arguments) ?? c.function.arguments }] : []));
      const text = message.content ?? '';
      const finish = choice.finish_reason === 'length' ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
      return { text, parsed: req.response && text ? parseJson(text) : undefined, tool_calls: calls, finish, usage };
    } catch (err) {
      throw mapSdkError(provider, err, OpenAI);
    }
  };
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
