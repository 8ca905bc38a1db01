import { costOf, type Price } from './pricing.js';

/** What a task's teacher calls cost, summed over every attempt (failed ones too); stored with its outcome. */
export interface Usage {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  /** Calls the response cache answered: no request, no tokens, no cost. */
  cache_hits: number;
}

/** Tokens of one answer, as the provider counted them. */
export interface TokenCount {
  input: number;
  output: number;
  /** Of `input`, the tokens read from the provider's prompt cache (billed at the cached rate). */
  cached?: number;
}

export const emptyUsage = (): Usage => ({ requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 });

/**
 * Adds one answered request to `usage`, priced at `pricing` (pricing.ts `priceOf`: the
 * model's rates) by price kind: cached input at the cached rate, `via: 'batch'` at batch rates. `via: 'cache'` is an answer
 * the response cache gave: nothing was asked of the provider, so it is a cache hit, not a request.
 */
export function addUsage(usage: Usage, tokens: TokenCount, pricing: Price, via?: 'cache' | 'batch'): void {
  if (via === 'cache') {
    usage.cache_hits += 1;
    return;
  }
  usage.requests += 1;
  usage.input_tokens += tokens.input;
  usage.output_tokens += tokens.output;
  usage.cost_usd += costOf(tokens, pricing, via);
}
