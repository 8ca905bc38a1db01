import { PRICE_TABLE, PRICES_AS_OF } from './price-table.js';

export { PRICES_AS_OF };

/**
 * USD per million tokens. Only input and output are required: a configured price without a cached
 * or batch rate bills those tokens at the online input/output rate (never less than they may cost).
 */
export interface Price {
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok?: number;
  batch_input_per_mtok?: number;
  batch_output_per_mtok?: number;
}

/**
 * Where a price came from: `configured` (the provider's `pricing` in PROVIDERS_FILE), `table` (the
 * list prices in price-table.ts) or `unknown` (neither: a local model, Ollama; billed 0).
 */
export type PriceSource = 'configured' | 'table' | 'unknown';

/** The price a call of `model` through a provider is billed at, every rate filled in. */
export interface PriceInEffect extends Required<Price> {
  source: PriceSource;
  /** The table entry matched (`gpt-4o` for `gpt-4o-2024-08-06`); null unless source is `table`. */
  matched: string | null;
  /** When the table's price for the entry was last confirmed; null unless source is `table`. */
  as_of: string | null;
}

// Snapshots carry a date (`gpt-4o-2024-08-06`, `claude-opus-4-5-20251101`) or `-latest`; routers and
// Gemini's endpoint prefix a vendor (`openai/gpt-4o-mini`, `models/gemini-2.5-flash`).
const DATED = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;
const VENDOR = /^[a-z0-9-]+\//;

/**
 * The table entry for a model name: exact, then without a vendor prefix, then without a dated or
 * `-latest` suffix. Nothing looser (no prefix match): `gpt-4o-mini-tts` is not `gpt-4o-mini`.
 */
export function tablePrice(model: string): { matched: string; price: Required<Price>; as_of: string } | undefined {
  const name = model.trim().toLowerCase();
  const bare = name.replace(VENDOR, '');
  for (const candidate of [name, bare, bare.replace(DATED, '')]) {
    const p = PRICE_TABLE[candidate];
    if (p) {
      return {
        matched: candidate,
        price: { input_per_mtok: p.input, output_per_mtok: p.output, cached_input_per_mtok: p.cached_input, batch_input_per_mtok: p.batch_input, batch_output_per_mtok: p.batch_output },
        as_of: p.as_of ?? PRICES_AS_OF,
      };
    }
  }
  return undefined;
}

const FREE: Required<Price> = { input_per_mtok: 0, output_per_mtok: 0, cached_input_per_mtok: 0, batch_input_per_mtok: 0, batch_output_per_mtok: 0 };

/** The configured price with its missing rates filled from the online ones. */
function filled(p: Price): Required<Price> {
  return {
    input_per_mtok: p.input_per_mtok,
    output_per_mtok: p.output_per_mtok,
    cached_input_per_mtok: p.cached_input_per_mtok ?? p.input_per_mtok,
    batch_input_per_mtok: p.batch_input_per_mtok ?? p.input_per_mtok,
    batch_output_per_mtok: p.batch_output_per_mtok ?? p.output_per_mtok,
  };
}

/**
 * The price in effect for `model` through `provider`: its configured pricing, else the table's, else
 * 0 and `unknown`. A provider built in code with a non-zero price counts as configured too.
 */
export function priceOf(provider: { pricing: Price; priced?: boolean }, model: string): PriceInEffect {
  const configured = provider.priced ?? (provider.pricing.input_per_mtok > 0 || provider.pricing.output_per_mtok > 0);
  if (configured) return { ...filled(provider.pricing), source: 'configured', matched: null, as_of: null };
  const found = tablePrice(model);
  if (found) return { ...found.price, source: 'table', matched: found.matched, as_of: found.as_of };
  return { ...FREE, source: 'unknown', matched: null, as_of: null };
}

/**
 * What one answer cost. `cached` tokens are part of `input` and billed at the cached rate; a batch
 * answer is billed at the batch rates, and its cached tokens get both discounts (Anthropic stacks
 * them; OpenAI's batch cache reads are never dearer).
 */
export function costOf(tokens: { input: number; output: number; cached?: number }, price: Price, via?: 'cache' | 'batch'): number {
  const p = filled(price);
  const cached = Math.min(Math.max(tokens.cached ?? 0, 0), tokens.input);
  const batch = via === 'batch';
  const input = batch ? p.batch_input_per_mtok : p.input_per_mtok;
  const output = batch ? p.batch_output_per_mtok : p.output_per_mtok;
  const cachedRate = batch && p.input_per_mtok > 0 ? p.cached_input_per_mtok * (p.batch_input_per_mtok / p.input_per_mtok) : p.cached_input_per_mtok;
  return ((tokens.input - cached) * input + cached * cachedRate + tokens.output * output) / 1e6;
}
