import { describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { LlmError } from '../../src/llm/llm.errors.js';
import type { ResolvedCall } from '../../src/llm/middleware.js';
import type { Provider } from '../../src/llm/providers.js';
import type { RateBucketStore } from '../../src/llm/rate/bucket-store.js';
import { createRateControl } from '../../src/llm/rate/rate-control.js';
import { rateLimit } from '../../src/llm/rate/rate-limit.middleware.js';
import { createTokenEstimator, preloadTokenizers } from '../../src/llm/rate/token-estimate.js';
import type { BucketDims } from '../../src/llm/rate/limits.js';

const provider = (limits: Provider['rateLimits']): Provider => ({
  name: 'p',
  kind: 'anthropic',
  baseUrl: 'http://127.0.0.1:1',
  apiKey: 'k',
  defaultModel: 'claude-x',
  maxConcurrency: 8,
  timeoutMs: 1000,
  maxRetries: 0,
  pricing: { input_per_mtok: 0, output_per_mtok: 0 },
  rateLimits: limits,
});

const call = (p: Provider): ResolvedCall => ({
  provider: p,
  model: 'claude-x',
  request: { system: 'x'.repeat(400), messages: [{ role: 'user', content: 'y'.repeat(400) }], max_tokens: 100 },
  cache: 'off',
  mode: 'online',
});

/** A store that records what it is asked and never makes anyone wait. */
function recordingStore() {
  const log: Array<{ op: 'take' | 'give'; dims: BucketDims }> = [];
  const store: RateBucketStore = {
    take: async (_key, dims) => (log.push({ op: 'take', dims }), 0),
    give: async (_key, dims) => void log.push({ op: 'give', dims }),
  };
  return { store, log };
}

describe('rate-limit middleware', () => {
  it('reserves the estimate before the call and settles it against the reported usage', async () => {
    const { store, log } = recordingStore();
    const slots = pLimit(8);
    const rate = createRateControl({ store, slots: () => slots });
    const p = provider({ rpm: 60, input_tpm: 6000, output_tpm: 6000 });
    const sut = rateLimit(rate)(async () => ({ text: '', tool_calls: [], finish: 'stop', usage: { input: 150, output: 40 } }));
    await sut(call(p), new AbortController().signal);
    await new Promise((r) => setImmediate(r));
    const [take, give] = log;
    // Not an OpenAI-family model: characters / 4 (801 characters with the newline) → 201; output: at most max_tokens.
    expect(take).toMatchObject({ op: 'take', dims: { requests: { amount: 1 }, input_tokens: { amount: 201 }, output_tokens: { amount: 100 } } });
    expect(give).toMatchObject({ op: 'give', dims: { input_tokens: { amount: 51 }, output_tokens: { amount: 60 } } });
    expect(give.dims.requests).toBeUndefined();
  });

  it('retries a 429 after its Retry-After and halves the provider concurrency', async () => {
    const { store } = recordingStore();
    const slots = pLimit(8);
    const rate = createRateControl({ store, slots: () => slots });
    let calls = 0;
    const sut = rateLimit(rate)(async () => {
      if (++calls === 1) throw new LlmError('rate_limit', 'slow down', { retryable: true, retryAfterMs: 20 });
      return { text: 'ok', tool_calls: [], finish: 'stop', usage: { input: 1, output: 1 } };
    });
    const res = await sut(call(provider(undefined)), new AbortController().signal);
    expect(res.text).toBe('ok');
    expect(calls).toBe(2);
    expect(slots.concurrency).toBe(4);
  });

  it('a call waiting out a Retry-After ends at once when its signal aborts', async () => {
    const rate = createRateControl({ slots: () => pLimit(8) });
    const controller = new AbortController();
    const sut = rateLimit(rate)(async () => {
      throw new LlmError('rate_limit', 'slow down', { retryable: true, retryAfterMs: 10_000 });
    });
    const pending = sut(call(provider(undefined)), controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ category: 'canceled' });
    rate.stop();
  });
});

describe('token estimates', () => {
  it('count OpenAI-family models with gpt-tokenizer once preloaded, characters / 4 until then and for others', async () => {
    const estimate = createTokenEstimator();
    const request = { messages: [{ role: 'user' as const, content: 'Tokenizers split words like internationalisation into pieces.' }] };
    const text = '\n' + request.messages[0].content;
    expect(estimate('claude-x', request)).toBe(Math.ceil(text.length / 4));
    expect(estimate('gpt-4o-mini', request)).toBe(Math.ceil(text.length / 4));
    await preloadTokenizers(['gpt-4o-mini', 'claude-x']);
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    expect(estimate('gpt-4o-mini', request)).toBe(countTokens(text) + 8);
    expect(estimate('claude-x', request)).toBe(Math.ceil(text.length / 4));
  }, 20_000);
});
