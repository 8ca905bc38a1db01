import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import type { ProviderSlots } from '../middleware.js';
import type { Provider } from '../providers.js';
import { createAimd, type Aimd } from './aimd.js';
import { createBreaker, type Breaker, type BreakerState } from './breaker.js';
import { memoryBucketStore, type RateBucketStore } from './bucket-store.js';
import { bucketDims, effectiveLimits, learnedLimits, type RateLimits } from './limits.js';
import { parseRateHeaders, type HeaderSource, type RateHeaders } from './rate-headers.js';
import type { ProviderEventSink } from './rate-events.js';
import { createTokenEstimator } from './token-estimate.js';

/** Consecutive 429/5xx answers that open a provider's breaker. */
export const BREAKER_THRESHOLD = 10;
export const BREAKER_BASE_MS = 1_000;
export const BREAKER_CAP_MS = 30_000;
const BREAKER_STATE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface RateControlDeps {
  /** Shared buckets (db/rate-buckets.repository.ts); default: this process's own. */
  store?: RateBucketStore;
  events?: ProviderEventSink;
  metrics?: Metrics;
  log?: Logger;
  slots: ProviderSlots;
}

/** Everything the rate layer keeps per provider, in this process. */
export interface ProviderRate {
  provider: Provider;
  /** The shared bucket's key: the endpoint and a hash of the key (limits are per account). */
  bucket: string;
  limits(): RateLimits;
  /** Takes what an answer's headers say (each dimension they name replaces the last value learned: a provider may raise a limit). */
  learn(headers: RateHeaders): void;
  aimd: Aimd;
  breaker: Breaker;
  /** Output tokens to reserve before a call: the mean of what answers reported so far. */
  outputEstimate(): number;
  noteOutput(tokens: number): void;
}

/**
 * The rate layer's state: per provider, the limits (configured in PROVIDERS_FILE, else learned from
 * the answers' headers), AIMD concurrency and the breaker; `observe` sees every HTTP answer of the
 * SDKs (src/llm/fetch.ts), SDK retries included, so no 429 goes unseen.
 */
export function createRateControl(deps: RateControlDeps) {
  const store = deps.store ?? memoryBucketStore();
  const estimateInput = createTokenEstimator();
  const states = new Map<string, ProviderRate>();

  const notify: ProviderEventSink = (runIds, event) =>
    (deps.events?.(runIds, event) ?? Promise.resolve()).catch((err) => deps.log?.warn({ err, type: event.type }, 'writing a provider event failed'));

  function state(provider: Provider): ProviderRate {
    let s = states.get(provider.name);
    if (s) return s;
    let learned: RateLimits = {};
    const name = provider.name;
    let outputs = 0;
    let outputTotal = 0;
    const breaker = createBreaker({
      threshold: BREAKER_THRESHOLD,
      baseMs: BREAKER_BASE_MS,
      capMs: BREAKER_CAP_MS,
      onState: (st) => deps.metrics?.llmBreakerState.set({ provider: name }, BREAKER_STATE[st]),
      onThrottled: (runIds, info) => {
        deps.log?.warn({ provider: name, ...info }, 'provider paused');
        void notify(runIds, { type: 'provider.throttled', data: { provider: name, ...info } });
      },
      onResumed: (runIds, info) => {
        deps.log?.info({ provider: name, ...info }, 'provider resumed');
        void notify(runIds, { type: 'provider.resumed', data: { provider: name, ...info } });
      },
    });
    s = {
      provider,
      bucket: `${provider.kind} ${provider.baseUrl} ${createHash('sha256').update(provider.apiKey).digest('hex').slice(0, 16)}`,
      limits: () => effectiveLimits(provider.rateLimits ?? {}, learned),
      learn: (headers) => {
        const next = learnedLimits(headers);
        if (Object.keys(next).length > 0) learned = { ...learned, ...next };
      },
      aimd: createAimd(provider.maxConcurrency, (n) => {
        deps.slots(provider).concurrency = n;
        deps.metrics?.llmConcurrency.set({ provider: name }, n);
      }),
      breaker,
      outputEstimate: () => (outputs === 0 ? 256 : Math.ceil(outputTotal / outputs)),
      noteOutput: (tokens) => {
        outputs += 1;
        outputTotal += tokens;
      },
    };
    states.set(name, s);
    return s;
  }

  /**
   * The first time a limit is learned the bucket would start full while the provider's window is
   * already partly spent (by the calls that taught us): take the spent share, as `remaining` says.
   */
  function seed(s: ProviderRate, limit: number, remaining: number) {
    const dims = bucketDims({ rpm: limit }, { input: 0, output: 0 }, 0);
    const spent = Math.max(0, 1 - remaining / limit);
    if (!dims.requests || spent === 0) return;
    dims.requests.amount = dims.requests.burst * spent;
    store.take(s.bucket, dims).catch((err) => deps.log?.warn({ err, provider: s.provider.name }, 'seeding a learned rate bucket failed'));
  }

  return {
    store,
    log: deps.log,
    state,
    /** Input tokens of a request: the tokenizer for OpenAI-family models, a character estimate otherwise. */
    estimateInput,
    /** Every HTTP answer from a provider (from the SDK's fetch). */
    observe(provider: Provider, status: number, headers: HeaderSource) {
      const s = state(provider);
      const parsed = parseRateHeaders(headers);
      const knew = s.limits().rpm !== undefined;
      s.learn(parsed);
      const window = parsed.requests;
      if (!knew && window?.limit && window.remaining !== undefined) seed(s, window.limit, window.remaining);
      if (status === 429) {
        deps.metrics?.llmRateLimited.inc({ provider: provider.name });
        s.breaker.record('rate_limited', parsed.retryAfterMs);
      } else if (status >= 500) s.breaker.record('server_errors');
      else s.breaker.record('ok');
    },
    waited(provider: Provider, ms: number) {
      if (ms > 0) deps.metrics?.llmRateWait.inc({ provider: provider.name }, ms / 1000);
    },
    stop() {
      for (const s of states.values()) s.breaker.stop();
    },
  };
}

export type RateControl = ReturnType<typeof createRateControl>;
