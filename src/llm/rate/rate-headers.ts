/**
 * What a provider's answer says about its rate limits. OpenAI sends `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
 * (limits per minute, resets as durations like `6m0s` or `20ms`); Anthropic sends
 * `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}` (limits per
 * minute, resets as RFC 3339 times); both may send `retry-after` (seconds or an HTTP date) and
 * `retry-after-ms`. Everything is optional: a gateway may send some, none, or garbage.
 */
export interface RateWindow {
  /** Per minute. */
  limit?: number;
  remaining?: number;
  /** Until the window is full again. */
  resetMs?: number;
}

export interface RateHeaders {
  requests?: RateWindow;
  /** Input and output together (OpenAI's TPM; Anthropic's most restrictive token limit). */
  tokens?: RateWindow;
  inputTokens?: RateWindow;
  outputTokens?: RateWindow;
  retryAfterMs?: number;
}

/** Anything with a case-insensitive `get` (a WHATWG `Headers`) or a plain object with lower-case names. */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

export function parseRateHeaders(source: HeaderSource, now = Date.now()): RateHeaders {
  const get = (name: string): string | undefined => {
    const raw = typeof source.get === 'function' ? (source as { get(n: string): string | null }).get(name) : (source as Record<string, unknown>)[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const openai = (dim: string): RateWindow | undefined =>
    window(count(get(`x-ratelimit-limit-${dim}`)), count(get(`x-ratelimit-remaining-${dim}`)), duration(get(`x-ratelimit-reset-${dim}`)));
  const anthropic = (dim: string): RateWindow | undefined =>
    window(count(get(`anthropic-ratelimit-${dim}-limit`)), count(get(`anthropic-ratelimit-${dim}-remaining`)), instant(get(`anthropic-ratelimit-${dim}-reset`), now));
  const out: RateHeaders = {
    requests: openai('requests') ?? anthropic('requests'),
    tokens: openai('tokens') ?? anthropic('tokens'),
    inputTokens: anthropic('input-tokens'),
    outputTokens: anthropic('output-tokens'),
    retryAfterMs: retryAfter(get('retry-after-ms'), get('retry-after'), now),
  };
  for (const key of Object.keys(out) as Array<keyof RateHeaders>) if (out[key] === undefined) delete out[key];
  return out;
}

function window(limit?: number, remaining?: number, resetMs?: number): RateWindow | undefined {
  if (limit === undefined && remaining === undefined && resetMs === undefined) return undefined;
  return { ...(limit !== undefined ? { limit } : {}), ...(remaining !== undefined ? { remaining } : {}), ...(resetMs !== undefined ? { resetMs } : {}) };
}

/** A non-negative integer, or undefined (a limit of 0 would stop everything: a broken gateway, not a limit). */
function count(text?: string): number | undefined {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** OpenAI's `1s`, `6m0s`, `20ms`, `1h2m3.5s`; a bare number is seconds. */
export function duration(text?: string): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * UNIT_MS[unit], 0);
}

/** Anthropic's RFC 3339 reset time, as milliseconds from now (never negative). */
function instant(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function retryAfter(ms: string | undefined, value: string | undefined, now: number): number | undefined {
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
