import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { createProviderFetch } from './fetch.js';
import { LlmError } from './llm.errors.js';
import type { Provider } from './providers.js';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  schemaName: string;
  /** JSON Schema of the answer, already in the provider-safe subset. */
  schema: Record<string, unknown>;
}

export interface ChatResult {
  /** The answer as text (OpenAI content), or the already-parsed tool input (Anthropic). */
  text: string;
  parsed?: unknown;
  finish: 'stop' | 'length' | 'refusal';
  refusal?: string;
  usage: { input: number; output: number };
}

export type ChatAdapter = (req: ChatRequest, signal: AbortSignal) => Promise<ChatResult>;

export function createAdapter(provider: Provider): ChatAdapter {
  const call = provider.kind === 'anthropic' ? anthropicAdapter(provider) : openaiAdapter(provider);
  return (req, signal) => abortable(call(req, signal), signal);
}

/**
 * The OpenAI SDK sleeps out a Retry-After without watching the signal, so a canceled run could
 * wait minutes for it. Racing the signal returns at once; the SDK then gives up before resending.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new LlmError('canceled', 'request aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new LlmError('canceled', 'request aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function openaiAdapter(provider: Provider): ChatAdapter {
  // The SDK retries 408/409/429/5xx and connection errors with jittered backoff and honours Retry-After.
  const client = new OpenAI({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency) });
  return async (req, signal) => {
    try {
      const res = await client.chat.completions.create(
        {
          model: req.model,
          messages: [...(req.system ? [{ role: 'system' as const, content: req.system }] : []), ...req.messages],
          temperature: req.temperature,
          max_tokens: req.maxTokens,
          response_format: { type: 'json_schema', json_schema: { name: req.schemaName, schema: req.schema, strict: true } },
        },
        { signal },
      );
      const choice = res.choices[0];
      const usage = { input: res.usage?.prompt_tokens ?? 0, output: res.usage?.completion_tokens ?? 0 };
      if (!choice) throw new LlmError('api', `${provider.name} returned no choices`, { retryable: true });
      if (choice.message.refusal) return { text: '', finish: 'refusal', refusal: choice.message.refusal, usage };
      return { text: choice.message.content ?? '', finish: choice.finish_reason === 'length' ? 'length' : 'stop', usage };
    } catch (err) {
      throw mapSdkError(provider, err, OpenAI);
    }
  };
}

function anthropicAdapter(provider: Provider): ChatAdapter {
  const client = new Anthropic({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency) });
  return async (req, signal) => {
    try {
      const res = await client.messages.create(
        {
          model: req.model,
          max_tokens: req.maxTokens ?? 4096,
          system: req.system,
          // No temperature: Anthropic's current API and SDK no longer accept it.
          messages: req.messages,
          // A forced tool call is Anthropic's way to get JSON that follows a schema.
          tools: [{ name: req.schemaName, description: 'Record your answer.', input_schema: req.schema as Anthropic.Tool.InputSchema }],
          tool_choice: { type: 'tool', name: req.schemaName },
        },
        { signal },
      );
      const usage = { input: res.usage.input_tokens, output: res.usage.output_tokens };
      const stop = res.stop_reason as string | null;
      if (stop === 'refusal') return { text: '', finish: 'refusal', refusal: textOf(res.content), usage };
      const tool = res.content.find((b) => b.type === 'tool_use');
      const finish = stop === 'max_tokens' ? 'length' : 'stop';
      if (!tool) return { text: textOf(res.content), finish, usage };
      return { text: JSON.stringify(tool.input), parsed: tool.input, finish, usage };
    } catch (err) {
      throw mapSdkError(provider, err, Anthropic);
    }
  };
}

const textOf = (blocks: Anthropic.ContentBlock[]) =>
  blocks.map((b) => (b.type === 'text' ? b.text : '')).join('');

type SdkModule = typeof OpenAI | typeof Anthropic;

/** Maps an SDK error (after the SDK's own retries) onto a failure category and what to do next. */
export function mapSdkError(provider: Provider, err: unknown, sdk: SdkModule): LlmError {
  if (err instanceof LlmError) return err;
  const where = `provider "${provider.name}" (${provider.kind}, ${provider.baseUrl})`;
  if (err instanceof sdk.APIUserAbortError) return new LlmError('canceled', 'request aborted');
  if (err instanceof sdk.APIConnectionTimeoutError) return new LlmError('timeout', `${where} did not answer within ${provider.timeoutMs} ms`, { retryable: true });
  if (err instanceof sdk.APIConnectionError) {
    return new LlmError(
      'api',
      `cannot reach ${where}: ${(err.cause as Error | undefined)?.message ?? err.message}. ` +
        'Start that server, or configure another teacher (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY, OLLAMA_BASE_URL or PROVIDERS_FILE) and pick it with llm.provider.',
      { fatal: true },
    );
  }
  if (err instanceof sdk.APIError) {
    const status = err.status ?? 0;
    const detail = err.message.slice(0, 500);
    if (status === 401 || status === 403) {
      const hint = provider.apiKeyEnv ? ` Check ${provider.apiKeyEnv}.` : '';
      return new LlmError('auth', `${where} rejected the credentials (${status}).${hint}`, { fatal: true });
    }
    if (status === 429) return new LlmError('rate_limit', `${where} is rate limiting: ${detail}`, { retryable: true, retryAfterMs: retryAfter(err.headers) });
    if (status === 404) return new LlmError('api', `${where} answered 404 (unknown model?): ${detail}`, { fatal: true });
    if (status >= 500 || status === 408 || status === 409) return new LlmError('api', `${where} failed with ${status}: ${detail}`, { retryable: true });
    return new LlmError('api', `${where} refused the request (${status}): ${detail}`);
  }
  return new LlmError('api', `${where}: ${(err as Error)?.message ?? String(err)}`, { retryable: true });
}

function retryAfter(headers: Headers | Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers as Record<string, string>)[name]) ?? undefined;
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const seconds = Number(get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  const date = Date.parse(get('retry-after') ?? '');
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
