/**
 * List prices of well-known teachers, USD per million tokens, as the vendors' pricing pages gave
 * them on PRICES_AS_OF. They go stale: a provider's `pricing` in PROVIDERS_FILE overrides them, and
 * GET /v1/providers says which is in effect. Long-context tiers (Gemini 2.5 Pro above 200k tokens)
 * and cache writes are not modelled: a call is priced at the base tier, cache writes as input.
 */
export const PRICES_AS_OF = '2025-09-01';

/** One model's prices. `cached_input`: prompt tokens read from the provider's prompt cache. */
export interface ListPrice {
  input: number;
  output: number;
  cached_input: number;
  /** The batch APIs (OpenAI Batch, Anthropic Message Batches, Gemini batch mode) bill half. */
  batch_input: number;
  batch_output: number;
}

const HALF = 0.5;
const price = (input: number, output: number, cached_input: number): ListPrice => ({
  input,
  output,
  cached_input,
  batch_input: input * HALF,
  batch_output: output * HALF,
});

/** By the model name the API takes; dated snapshots and vendor prefixes are matched in pricing.ts. */
export const PRICE_TABLE: Readonly<Record<string, ListPrice>> = {
  // OpenAI
  'gpt-4o': price(2.5, 10, 1.25),
  // The first gpt-4o snapshot kept its launch price and has no cached-input discount.
  'gpt-4o-2024-05-13': price(5, 15, 5),
  'gpt-4o-mini': price(0.15, 0.6, 0.075),
  'gpt-4.1': price(2, 8, 0.5),
  'gpt-4.1-mini': price(0.4, 1.6, 0.1),
  'gpt-4.1-nano': price(0.1, 0.4, 0.025),
  o3: price(2, 8, 0.5),
  'o3-mini': price(1.1, 4.4, 0.55),
  'o4-mini': price(1.1, 4.4, 0.275),
  'gpt-5': price(1.25, 10, 0.125),
  'gpt-5-mini': price(0.25, 2, 0.025),
  'gpt-5-nano': price(0.05, 0.4, 0.005),
  // Anthropic (cached = cache reads, a tenth of input)
  'claude-opus-4-1': price(15, 75, 1.5),
  'claude-opus-4-0': price(15, 75, 1.5),
  'claude-opus-4': price(15, 75, 1.5),
  'claude-sonnet-4-5': price(3, 15, 0.3),
  'claude-sonnet-4-0': price(3, 15, 0.3),
  'claude-sonnet-4': price(3, 15, 0.3),
  'claude-3-7-sonnet': price(3, 15, 0.3),
  'claude-haiku-4-5': price(1, 5, 0.1),
  'claude-3-5-haiku': price(0.8, 4, 0.08),
  // Gemini, through its OpenAI-compatible endpoint (text input, prompts up to 200k tokens)
  'gemini-2.5-pro': price(1.25, 10, 0.31),
  'gemini-2.5-flash': price(0.3, 2.5, 0.075),
  'gemini-2.5-flash-lite': price(0.1, 0.4, 0.025),
};
