import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadProviders, MAX_RPM, MAX_TPM } from '../../src/llm/providers.js';
import { duration, parseRateHeaders } from '../../src/llm/rate/rate-headers.js';
import { bucketDims, effectiveLimits, learnedLimits } from '../../src/llm/rate/limits.js';
import { encodingOf } from '../../src/llm/rate/token-estimate.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('rate-limit headers', () => {
  it('reads OpenAI x-ratelimit-* with duration resets', () => {
    const h = new Headers({
      'x-ratelimit-limit-requests': '600',
      'x-ratelimit-remaining-requests': '599',
      'x-ratelimit-reset-requests': '100ms',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149000',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(parseRateHeaders(h, NOW)).toEqual({
      requests: { limit: 600, remaining: 599, resetMs: 100 },
      tokens: { limit: 150000, remaining: 149000, resetMs: 360_000 },
    });
    expect(learnedLimits(parseRateHeaders(h, NOW))).toEqual({ rpm: 600, tpm: 150000 });
  });

  it('reads Anthropic anthropic-ratelimit-* with RFC 3339 resets, input and output apart', () => {
    const at = (s: number) => new Date(NOW + s * 1000).toISOString();
    const h = {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': at(2),
      'anthropic-ratelimit-tokens-limit': '8000',
      'anthropic-ratelimit-input-tokens-limit': '40000',
      'anthropic-ratelimit-input-tokens-remaining': '39000',
      'anthropic-ratelimit-input-tokens-reset': at(1.5),
      'anthropic-ratelimit-output-tokens-limit': '8000',
      'retry-after': '7',
    };
    const parsed = parseRateHeaders(h, NOW);
    expect(parsed).toMatchObject({ requests: { limit: 50, remaining: 49, resetMs: 2000 }, inputTokens: { limit: 40000, remaining: 39000, resetMs: 1500 }, outputTokens: { limit: 8000 }, retryAfterMs: 7000 });
    // The combined token header is the most restrictive of the two: not a third limit.
    expect(learnedLimits(parsed)).toEqual({ rpm: 50, input_tpm: 40000, output_tpm: 8000 });
  });

  it('prefers retry-after-ms, reads an HTTP date, ignores garbage', () => {
    expect(parseRateHeaders({ 'retry-after-ms': '250', 'retry-after': '9' }, NOW).retryAfterMs).toBe(250);
    expect(parseRateHeaders({ 'retry-after': new Date(NOW + 3000).toUTCString() }, NOW).retryAfterMs).toBe(3000);
    expect(parseRateHeaders({ 'x-ratelimit-limit-requests': 'lots', 'x-ratelimit-reset-requests': 'soon', 'retry-after': 'later' }, NOW)).toEqual({});
    expect(parseRateHeaders({}, NOW)).toEqual({});
  });

  it('parses OpenAI durations', () => {
    expect(duration('1s')).toBe(1000);
    expect(duration('1h2m3.5s')).toBe(3_723_500);
    expect(duration('20ms')).toBe(20);
    expect(duration('2')).toBe(2000);
    expect(duration('1x')).toBeUndefined();
  });
});

describe('limits', () => {
  it('a configured limit wins; a learned one fills the rest', () => {
    expect(effectiveLimits({ rpm: 60 }, { rpm: 6000, tpm: 100 })).toEqual({ rpm: 60, tpm: 100 });
  });

  it('buckets refill per second with headroom and a half-second burst', () => {
    const dims = bucketDims({ rpm: 600, input_tpm: 60_000 }, { input: 100, output: 20 });
    expect(dims.requests).toEqual({ rate: 9.8, burst: 4.9, amount: 1 });
    expect(dims.input_tokens).toMatchObject({ amount: 100 });
    expect(dims.tokens).toBeUndefined();
  });

  it('counts OpenAI-family models with their own encoding and no one else', () => {
    expect(encodingOf('gpt-4o-mini')).toBe('o200k_base');
    expect(encodingOf('o3-mini')).toBe('o200k_base');
    expect(encodingOf('gpt-4.1')).toBe('o200k_base');
    expect(encodingOf('gpt-4-turbo')).toBe('cl100k_base');
    expect(encodingOf('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encodingOf('claude-sonnet-4-5')).toBeUndefined();
    expect(encodingOf('qwen3:8b')).toBeUndefined();
  });
});

describe('configured limits in PROVIDERS_FILE', () => {
  const file = (lines: string[]) => {
    const path = join(mkdtempSync(join(tmpdir(), 'quarry-rate-cfg-')), 'providers.yaml');
    writeFileSync(path, ['providers:', '  p:', '    kind: anthropic', '    model: claude-x', ...lines.map((l) => `    ${l}`)].join('\n'));
    return loadConfig({ DATA_DIR: 'memory://', PROVIDERS_FILE: path, DEFAULT_PROVIDER: 'p' });
  };

  it('reads rpm, tpm and input/output tpm', () => {
    const p = loadProviders(file(['rpm: 50', 'input_tpm: 40000', 'output_tpm: 8000'])).get('p');
    expect(p?.rateLimits).toEqual({ rpm: 50, input_tpm: 40000, output_tpm: 8000 });
  });

  it.each([['rpm: 0'], ['rpm: 1.5'], [`tpm: ${MAX_TPM + 1}`], [`rpm: ${MAX_RPM + 1}`], ['output_tpm: -1']])('refuses %s, naming the field', (line) => {
    const field = line.split(':')[0];
    expect(() => loadProviders(file([line]))).toThrow(new RegExp(`/providers/p/${field}`));
  });
});
