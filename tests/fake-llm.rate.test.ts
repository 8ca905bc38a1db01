import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';

const chat = (fake: FakeLlm) =>
  fetch(`${fake.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }) });
const message = (fake: FakeLlm) =>
  fetch(`${fake.anthropicBaseUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
  });

describe('fake teacher rate knob', () => {
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm();
  });
  afterAll(() => fake?.close());
  beforeEach(() => fake.reset());

  it('sends x-ratelimit-* on every answer and a 429 with retry-after beyond rps', async () => {
    fake.configure({ rate: { rps: 2, tpm: 6000 } });
    const answers = [await chat(fake), await chat(fake), await chat(fake)];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(answers[0].headers.get('x-ratelimit-limit-requests')).toBe('120');
    expect(answers[0].headers.get('x-ratelimit-limit-tokens')).toBe('6000');
    expect(answers[0].headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+ms$/);
    expect(Number(answers[1].headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(Number(answers[0].headers.get('x-ratelimit-remaining-requests')));
    expect(answers[2].headers.get('retry-after')).toBe('1');
    expect(Number(answers[2].headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect((await answers[2].json()).error.type).toBe('rate_limit_error');
    expect(fake.stats().rateLimited).toBe(1);
  });

  it('speaks anthropic-ratelimit-* on /v1/messages', async () => {
    fake.configure({ rate: { rps: 1, tpm: 6000 } });
    const [ok, limited] = [await message(fake), await message(fake)];
    expect([ok.status, limited.status]).toEqual([200, 429]);
    expect(ok.headers.get('anthropic-ratelimit-requests-limit')).toBe('60');
    expect(Date.parse(ok.headers.get('anthropic-ratelimit-requests-reset')!)).toBeGreaterThan(Date.now() - 1000);
    expect(ok.headers.get('anthropic-ratelimit-input-tokens-limit')).toBe('6000');
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('answers only 429 for rateLimitedForS, then normally; reset() clears the knobs', async () => {
    fake.configure({ rateLimitedForS: 0.3 });
    expect((await chat(fake)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 350));
    expect((await chat(fake)).status).toBe(200);
    fake.configure({ rate: { rps: 1 }, rateLimitedForS: 60 });
    fake.reset();
    expect((await chat(fake)).headers.get('x-ratelimit-limit-requests')).toBeNull();
    expect(() => fake.configure({ rate: { rps: 0 } })).toThrow(/rate must be/);
  });
});
