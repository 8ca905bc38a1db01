import { anthropicAdapter } from './anthropic.adapter.js';
import { LlmError } from './llm.errors.js';
import type { TeacherCall } from './middleware.js';
import { openaiAdapter } from './openai.adapter.js';
import type { Provider } from './providers.js';

/** The innermost teacher call for one provider: its SDK, mapping the neutral request to its wire format. */
export function createAdapter(provider: Provider): TeacherCall {
  const call = provider.kind === 'anthropic' ? anthropicAdapter(provider) : openaiAdapter(provider);
  return (resolved, signal) => abortable(call(resolved, signal), signal);
}

/** Every provider's adapter, built on first use. */
export function providerCall(): TeacherCall {
  const adapters = new Map<string, TeacherCall>();
  return (call, signal) => {
    let adapter = adapters.get(call.provider.name);
    if (!adapter) adapters.set(call.provider.name, (adapter = createAdapter(call.provider)));
    return adapter(call, signal);
  };
}

/**
 * The OpenAI SDK sleeps out a Retry-After without watching the signal, so a canceled run could
 * wait minutes for it. Racing the signal returns at once; the SDK then gives up before resending.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new LlmError('canceled', 'request aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new LlmError('canceled', 'request aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
