import type { Provider } from './providers.js';

/** What a task's teacher calls cost, summed over every attempt (failed ones too); stored with its outcome. */
export interface Usage {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** Tokens of one answer, as the provider counted them. */
export interface TokenCount {
  input: number;
  output: number;
}

export const emptyUsage = (): Usage => ({ requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });

/** Adds one answered request to `usage`, priced at the provider's rates. */
export function addUsage(usage: Usage, tokens: TokenCount, pricing: Provider['pricing']): void {
  usage.requests += 1;
  usage.input_tokens += tokens.input;
  usage.output_tokens += tokens.output;
  usage.cost_usd += (tokens.input * pricing.input_per_mtok + tokens.output * pricing.output_per_mtok) / 1e6;
}
