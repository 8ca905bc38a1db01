import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { LlmError } from './llm.errors.js';
import type { Provider } from './providers.js';

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
  if (err instanceof sdk.APIError) return statusError(provider, err.status ?? 0, err.message, retryAfter(err.headers));
  return new LlmError('api', `${where}: ${(err as Error)?.message ?? String(err)}`, { retryable: true });
}

/** An HTTP error status as an LlmError: for SDK errors and for the failed lines of a provider batch (src/llm/batch/). */
export function statusError(provider: Provider, status: number, message: string, retryAfterMs?: number): LlmError {
  const where = `provider "${provider.name}" (${provider.kind}, ${provider.baseUrl})`;
  const detail = message.slice(0, 500);
  if (status === 401 || status === 403) {
    const hint = provider.apiKeyEnv ? ` Check ${provider.apiKeyEnv}.` : '';
    return new LlmError('auth', `${where} rejected the credentials (${status}).${hint}`, { fatal: true });
  }
  if (status === 429) return new LlmError('rate_limit', `${where} is rate limiting: ${detail}`, { retryable: true, retryAfterMs });
  if (status === 404) return new LlmError('api', `${where} answered 404 (unknown model?): ${detail}`, { fatal: true });
  if (status >= 500 || status === 408 || status === 409) return new LlmError('api', `${where} failed with ${status}: ${detail}`, { retryable: true });
  return new LlmError('api', `${where} refused the request (${status}): ${detail}`);
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

/** JSON text parsed, or undefined when it is not JSON (the caller decides what that means). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
