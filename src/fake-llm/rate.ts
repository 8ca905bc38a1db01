// The fake teacher's rate limit: a token bucket of `rps` requests (one second's worth of burst,
// refilled continuously, as OpenAI and Anthropic replenish theirs) and optionally `tpm` tokens,
// with the providers' headers on every answer and a 429 with Retry-After beyond it; and an outage
// switch that answers nothing but 429 for a while.
import type http from 'node:http';

export interface RateKnob {
  /** Requests per second (headers say it per minute, as the providers do). */
  rps: number;
  /** Tokens (the request body's characters / 4) per minute. */
  tpm?: number;
}

export interface RateKnobs {
  /** null: no limit (the default; reset() clears it). */
  rate?: RateKnob | null;
  /** Answer every completion and embedding request 429 (Retry-After: 1) for this many seconds from now. */
  rateLimitedForS?: number;
}

export type HeaderStyle = 'openai' | 'anthropic';

export function createFakeRate(now: () => number = () => performance.now()) {
  let knob: RateKnob | undefined;
  let requests = 0;
  let tokens = 0;
  let at = now();
  let outageEnds = 0;
  let refused = 0;

  const refill = () => {
    if (!knob) return;
    const t = now();
    const elapsed = (t - at) / 1000;
    at = t;
    requests = Math.min(knob.rps, requests + knob.rps * elapsed);
    if (knob.tpm) tokens = Math.min(knob.tpm / 60, tokens + (knob.tpm / 60) * elapsed);
  };

  const headers = (res: http.ServerResponse, style: HeaderStyle) => {
    if (!knob) return;
    const toFull = (level: number, cap: number, perS: number) => Math.max(0, ((cap - level) / perS) * 1000);
    const reqReset = toFull(requests, knob.rps, knob.rps);
    // Remaining in the headers' per-minute terms: the share of the bucket left, times the limit.
    const left = (level: number, cap: number, limit: number) => String(Math.max(0, Math.floor((level / cap) * limit)));
    if (style === 'openai') {
      res.setHeader('x-ratelimit-limit-requests', String(knob.rps * 60));
      res.setHeader('x-ratelimit-remaining-requests', left(requests, knob.rps, knob.rps * 60));
      res.setHeader('x-ratelimit-reset-requests', `${Math.ceil(reqReset)}ms`);
      if (knob.tpm) {
        res.setHeader('x-ratelimit-limit-tokens', String(knob.tpm));
        res.setHeader('x-ratelimit-remaining-tokens', left(tokens, knob.tpm / 60, knob.tpm));
        res.setHeader('x-ratelimit-reset-tokens', `${Math.ceil(toFull(tokens, knob.tpm / 60, knob.tpm / 60))}ms`);
      }
      return;
    }
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    res.setHeader('anthropic-ratelimit-requests-limit', String(knob.rps * 60));
    res.setHeader('anthropic-ratelimit-requests-remaining', left(requests, knob.rps, knob.rps * 60));
    res.setHeader('anthropic-ratelimit-requests-reset', iso(reqReset));
    if (knob.tpm) {
      for (const dim of ['input-tokens', 'output-tokens']) {
        res.setHeader(`anthropic-ratelimit-${dim}-limit`, String(knob.tpm));
        res.setHeader(`anthropic-ratelimit-${dim}-remaining`, left(tokens, knob.tpm / 60, knob.tpm));
        res.setHeader(`anthropic-ratelimit-${dim}-reset`, iso(toFull(tokens, knob.tpm / 60, knob.tpm / 60)));
      }
    }
  };

  return {
    configure(o: RateKnobs) {
      if (o.rate !== undefined) {
        knob = checkRate(o.rate);
        // A new limit starts with a full bucket.
        requests = knob?.rps ?? 0;
        tokens = knob?.tpm ? knob.tpm / 60 : 0;
        at = now();
      }
      if (o.rateLimitedForS !== undefined) {
        if (typeof o.rateLimitedForS !== 'number' || !(o.rateLimitedForS >= 0) || o.rateLimitedForS > 3600) throw new TypeError('rateLimitedForS must be a number of seconds from 0 to 3600');
        outageEnds = now() + o.rateLimitedForS * 1000;
      }
    },
    /**
     * Sets the rate headers on `res`; false when the request is over the limit (or in an outage) and
     * must be answered 429 — its Retry-After headers are set too.
     */
    admit(res: http.ServerResponse, style: HeaderStyle, cost: number): boolean {
      refill();
      let waitMs = 0;
      if (now() < outageEnds) waitMs = 1000;
      else if (knob && requests < 1) waitMs = ((1 - requests) / knob.rps) * 1000;
      else if (knob?.tpm && tokens < 0) waitMs = (-tokens / (knob.tpm / 60)) * 1000;
      if (waitMs === 0 && knob) {
        requests -= 1;
        if (knob.tpm) tokens -= cost;
      }
      headers(res, style);
      if (waitMs === 0) return true;
      refused += 1;
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
      if (style === 'openai') res.setHeader('retry-after-ms', String(Math.ceil(waitMs)));
      return false;
    },
    get refused() {
      return refused;
    },
    reset() {
      knob = undefined;
      outageEnds = 0;
      refused = 0;
    },
  };
}

function checkRate(value: unknown): RateKnob | undefined {
  if (value === null) return undefined;
  const v = value as Partial<RateKnob> | undefined;
  const ok = (n: unknown, max: number) => typeof n === 'number' && n > 0 && n <= max;
  if (!v || !ok(v.rps, 100_000) || (v.tpm !== undefined && !ok(v.tpm, 1e10))) throw new TypeError(`rate must be { rps: 0 < n ≤ 100000, tpm?: 0 < n ≤ 1e10 } or null, got ${JSON.stringify(value)}`);
  return { rps: v.rps!, ...(v.tpm !== undefined ? { tpm: v.tpm } : {}) };
}
