import type { ResponseObserver } from './fetch.js';
import { LlmError } from './llm.errors.js';
import type { TeacherCall } from './middleware.js';
import type { Provider } from './providers.js';

/**
 * The innermost teacher call for one provider: its SDK, mapping the neutral request to its wire format.
 * The SDK (and undici) load on the provider's first call, so an idle service, or one that never
 * calls Anthropic, does not hold them in memory.
 */
export function createAdapter(provider: Provider, observe?: ResponseObserver): TeacherCall {
  let call: Promise<TeacherCall> | undefined;
  const load = () =>
    (call ??=
      provider.kind === 'anthropic'
        ? import('./anthropic.adapter.js').then((m) => m.anthropicAdapter(provider, observe))
        : import('./openai.adapter.js').then((m) => m.openaiAdapter(provider, observe)));
  return (resolved, signal) => abortable(load().then((adapter) => adapter(resolved, signal)), signal);
}

/** Every provider's adapter, built on first use; `observe` sees each HTTP answer (the rate layer). */
export function providerCall(observe?: (provider: Provider, status: number, headers: Headers) => void): TeacherCall {
  const adapters = new Map<string, TeacherCall>();
  return (call, signal) => {
    let adapter = adapters.get(call.provider.name);
    if (!adapter) adapters.set(call.provider.name, (adapter = createAdapter(call.provider, observe && ((status, headers) => observe(call.provider, status, headers)))));
    return adapter(call, signal);
  };
}

/**
 * The OpenAI SDK sleeps out a Retry-After without watching the signal, so a canceled run could
 * wait minutes for it. Racing the signal returns at once; the SDK then gives up before resending.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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
