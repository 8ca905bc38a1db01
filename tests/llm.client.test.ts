import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLlmClient } from '../src/llm/llm.client.js';
import { LlmError } from '../src/llm/llm.errors.js';
import { loadProviders } from '../src/llm/providers.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';

describe('structured teacher calls', () => {
  let fake: FakeLlm;
  let sut: ReturnType<typeof createLlmClient>;
  beforeAll(async () => {
    fake = await startFakeLlm();
    sut = createLlmClient({ providers: loadProviders(loadConfig({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'k', DEFAULT_PROVIDER: 'openai' })) });
  });
  afterAll(() => fake?.close());

  const schema = Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), text: Type.String() }), { minItems: 2, maxItems: 2 }) });
  const usage = () => ({ requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 });

  it('feeds a failed consistency check back to the teacher and accepts the corrected answer', async () => {
    fake.reset();
    let calls = 0;
    const u = usage();
    const { value } = await sut.structured({
      llm: {}, prompt: 'Label these.\n[a1]\nfirst\n[a2]\nsecond', schema, schemaName: 'items', signal: new AbortController().signal, usage: u,
      check: () => (++calls === 1 ? 'items must be in reverse order' : undefined),
    });
    expect(value.items.map((i) => i.id)).toEqual(['a1', 'a2']);
    expect(u.requests).toBe(2);
    const retry = fake.requests().at(-1)!.body as any;
    expect(retry.messages.at(-1).content).toContain('items must be in reverse order');
    expect(retry.messages.at(-2).role).toBe('assistant');
  });

  it('gives up after the sample retries with category schema, counting every request', async () => {
    const u = usage();
    const err = await sut
      .structured({ llm: {}, prompt: 'x', schema, schemaName: 'items', signal: new AbortController().signal, usage: u, sampleRetries: 1, check: () => 'never right' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err.category).toBe('schema');
    expect(err.options.retryable).toBe(true);
    expect(u.requests).toBe(2);
    expect(u.input_tokens).toBeGreaterThan(0);
  });

  it('stops at once when the signal aborts', async () => {
    fake.configure({ latencyMs: 2000 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const err = await sut.structured({ llm: {}, prompt: 'x', schema, schemaName: 'items', signal: controller.signal, usage: usage() }).catch((e) => e);
    expect(err.category).toBe('canceled');
    expect(Date.now() - started).toBeLessThan(1000);
    fake.configure({ latencyMs: 0 });
  });
});
