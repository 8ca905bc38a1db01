/**
 * List prices of well-known teachers, USD per million tokens, as the vendors' own pricing and model
 * pages gave them on PRICES_AS_OF (a row not found again on that read keeps the date it was last
 * confirmed, `as_of`). They go stale: a provider's `pricing` in PROVIDERS_FILE overrides them, and
 * GET /v1/providers says which is in effect and from when. Long-context and prompt-length tiers
 * (Gemini 2.5 Pro above 200k tokens) and cache writes are not modelled: a call is priced at the base
 * tier, cache writes as input. A model whose rates could not be confirmed on an official page is
 * left out (priced `unknown`) rather than guessed.
 */
export const PRICES_AS_OF = '2026-12-01';
/** The previous read, for rows not found again on the pages read on PRICES_AS_OF. */
const LAST_READ = '2025-09-01';

/** One model's prices. `cached_input`: prompt tokens read from the provider's prompt cache. */
export interface ListPrice {
  input: number;
  output: number;
  cached_input: number;
  /** The batch APIs (OpenAI Batch, Anthropic Message Batches, Gemini batch mode) bill half. */
  batch_input: number;
  batch_output: number;
  /** When this row was last confirmed, if not on PRICES_AS_OF. */
  as_of?: string;
}

const HALF = 0.5;
const price = (input: number, output: number, cached_input: number): ListPrice => ({
  input,
  output,
  cached_input,
  batch_input: input * HALF,
  batch_output: output * HALF,
});
/** A row last confirmed on the previous read: still listed, but not found on this read's pages. */
const earlier = (input: number, output: number, cached_input: number): ListPrice => ({ ...price(input, output, cached_input), as_of: LAST_READ });

// Official sources (one stated discount for every model: batch is half of input and output).
// A: https://platform.claude.com/docs/en/about-claude/pricing ("Batch API: 50% discount on input and output")
// M: https://platform.claude.com/docs/en/models/<model>/overview (model ID, price, cache read, batch)
// O: https://developers.openai.com/api/docs/models/<model>

/** By the model name the API takes; dated snapshots and vendor prefixes are matched in pricing.ts. */
export const PRICE_TABLE: Readonly<Record<string, ListPrice>> = {
  // OpenAI
  'gpt-4o': earlier(2.5, 10, 1.25),
  // The first gpt-4o snapshot kept its launch price and has no cached-input discount.
  'gpt-4o-2024-05-13': earlier(5, 15, 5),
  'gpt-4o-mini': earlier(0.15, 0.6, 0.075),
  'gpt-4.1': earlier(2, 8, 0.5),
  'gpt-4.1-mini': earlier(0.4, 1.6, 0.1),
  'gpt-4.1-nano': earlier(0.1, 0.4, 0.025),
  o3: earlier(2, 8, 0.5),
  'o3-mini': earlier(1.1, 4.4, 0.55),
  'o4-mini': earlier(1.1, 4.4, 0.275),
  'gpt-5': earlier(1.25, 10, 0.125),
  'gpt-5-mini': earlier(0.25, 2, 0.025),
  // https://developers.openai.com/api/docs/models/gpt-5-nano (deprecated, still served)
  'gpt-5-nano': price(0.05, 0.4, 0.005),
  // https://developers.openai.com/api/docs/models/gpt-5.1
  'gpt-5.1': price(1.25, 10, 0.125),
  // Anthropic (cached = cache reads; the 5-minute and 1-hour cache writes are billed as input)
  // M https://platform.claude.com/docs/en/models/fable-5-1/overview: cache reads cut to a quarter of Fable 5's
  'claude-fable-5-1': price(10, 50, 0.25),
  // A; M https://platform.claude.com/docs/en/models/fable-5/overview (legacy)
  'claude-fable-5': price(10, 50, 1),
  // M https://platform.claude.com/docs/en/models/opus-5-5/overview (cache read 0.05× input)
  'claude-opus-5-5': price(4, 20, 0.2),
  // A; M https://platform.claude.com/docs/en/models/opus-5/overview
  'claude-opus-5': price(5, 25, 0.5),
  // A; M https://platform.claude.com/docs/en/models/opus-4-8/overview
  'claude-opus-4-8': price(5, 25, 0.5),
  // A; ID per https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/partner-models/claude/opus-4-7
  'claude-opus-4-7': price(5, 25, 0.5),
  // A; M https://platform.claude.com/docs/en/models/opus-4-6/overview
  'claude-opus-4-6': price(5, 25, 0.5),
  // A; M https://platform.claude.com/docs/en/models/opus-4-5/overview (alias of claude-opus-4-5-20251101)
  'claude-opus-4-5': price(5, 25, 0.5),
  // M https://platform.claude.com/docs/en/models/sonnet-5/overview
  'claude-sonnet-5': price(2, 10, 0.2),
  // M https://platform.claude.com/docs/en/models/sonnet-4-6/overview; cache read from A
  'claude-sonnet-4-6': price(3, 15, 0.3),
  'claude-sonnet-4-0': earlier(3, 15, 0.3),
  'claude-sonnet-4': earlier(3, 15, 0.3),
  'claude-3-7-sonnet': earlier(3, 15, 0.3),
  // A; lineup on https://platform.claude.com/docs/en/models/opus-5/overview
  'claude-haiku-4-5': price(1, 5, 0.1),
  'claude-3-5-haiku': earlier(0.8, 4, 0.08),
  // Gemini, through its OpenAI-compatible endpoint (text input, prompts up to 200k tokens)
  'gemini-2.5-pro': earlier(1.25, 10, 0.31),
  'gemini-2.5-flash': earlier(0.3, 2.5, 0.075),
  'gemini-2.5-flash-lite': earlier(0.1, 0.4, 0.025),
};
