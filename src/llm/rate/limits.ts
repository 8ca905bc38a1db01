import type { RateHeaders } from './rate-headers.js';

/** Per-minute limits of one provider endpoint; absent = not limited in that dimension. */
export interface RateLimits {
  rpm?: number;
  /** Input and output tokens together (OpenAI's TPM). */
  tpm?: number;
  /** Anthropic counts input and output tokens separately (ITPM, OTPM). */
  input_tpm?: number;
  output_tpm?: number;
}

export const LIMIT_KEYS = ['rpm', 'tpm', 'input_tpm', 'output_tpm'] as const;

/**
 * Fraction of a limit we plan to use: the provider's clock and ours start their windows at different
 * moments and timers fire a little late, so running at exactly the limit would draw the odd 429.
 */
export const HEADROOM = 0.98;
/**
 * A bucket holds this many seconds' worth of its limit: the largest burst it lets through at once.
 * Half a second, not a whole one: we count a call when it reserves, the provider when it arrives,
 * and a provider bucket that sits full while our reserved calls are still on their way loses refill
 * ours keeps: the half second left over absorbs that (a one-second burst drew the odd 429 at R = 25).
 */
export const BURST_SECONDS = 0.5;

/** What the headers say, as limits (the ones a header names). */
export function learnedLimits(headers: RateHeaders): RateLimits {
  const out: RateLimits = {};
  if (headers.requests?.limit) out.rpm = headers.requests.limit;
  // Anthropic's combined token header is "the most restrictive" of input and output: counting it
  // besides those two would limit twice.
  if (headers.tokens?.limit && !headers.inputTokens && !headers.outputTokens) out.tpm = headers.tokens.limit;
  if (headers.inputTokens?.limit) out.input_tpm = headers.inputTokens.limit;
  if (headers.outputTokens?.limit) out.output_tpm = headers.outputTokens.limit;
  return out;
}

/** A configured limit wins; a learned one applies where none is configured. */
export function effectiveLimits(configured: RateLimits, learned: RateLimits): RateLimits {
  const out: RateLimits = {};
  for (const key of LIMIT_KEYS) {
    const value = configured[key] ?? learned[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** One dimension of a token bucket: refill per second, capacity, and what this call takes (may be negative: a refund). */
export interface BucketDim {
  rate: number;
  burst: number;
  amount: number;
}

export type BucketDims = { requests?: BucketDim; tokens?: BucketDim; input_tokens?: BucketDim; output_tokens?: BucketDim };

/** The bucket dimensions a call with these estimates takes under `limits`. */
export function bucketDims(limits: RateLimits, estimate: { input: number; output: number }, requests = 1): BucketDims {
  const dim = (perMinute: number | undefined, amount: number): BucketDim | undefined => {
    if (perMinute === undefined) return undefined;
    const rate = (perMinute / 60) * HEADROOM;
    return { rate, burst: Math.max(1, rate * BURST_SECONDS), amount };
  };
  const out: BucketDims = {};
  const r = dim(limits.rpm, requests);
  const t = dim(limits.tpm, estimate.input + estimate.output);
  const i = dim(limits.input_tpm, estimate.input);
  const o = dim(limits.output_tpm, estimate.output);
  if (r) out.requests = r;
  if (t) out.tokens = t;
  if (i) out.input_tokens = i;
  if (o) out.output_tokens = o;
  return out;
}
