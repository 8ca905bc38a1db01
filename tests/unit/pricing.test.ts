import { describe, expect, it } from 'vitest';
import { budgetCrossed, projectedCost, PROJECTION_MIN_FINISHED } from '../../db/run-cost.js';
import { PRICE_TABLE } from '../../src/llm/price-table.js';
import { costOf, PRICES_AS_OF, priceOf, tablePrice } from '../../src/llm/pricing.js';
import { addUsage, emptyUsage } from '../../src/llm/usage.js';

const FREE = { input_per_mtok: 0, output_per_mtok: 0 };

describe('the price table', () => {
  it('matches a model exactly, then its dated snapshots and vendor-prefixed names, and nothing looser', () => {
    expect(tablePrice('gpt-4o')?.matched).toBe('gpt-4o');
    expect(tablePrice('gpt-4o-2024-08-06')).toMatchObject({ matched: 'gpt-4o', price: { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 } });
    // A snapshot priced apart keeps its own entry.
    expect(tablePrice('gpt-4o-2024-05-13')).toMatchObject({ matched: 'gpt-4o-2024-05-13', price: { input_per_mtok: 5, output_per_mtok: 15 } });
    expect(tablePrice('gpt-4o-mini-2024-07-18')?.matched).toBe('gpt-4o-mini');
    expect(tablePrice('claude-sonnet-4-20250514')?.matched).toBe('claude-sonnet-4');
    expect(tablePrice('claude-3-5-haiku-latest')?.matched).toBe('claude-3-5-haiku');
    expect(tablePrice('claude-opus-4-5-20251101')).toMatchObject({ matched: 'claude-opus-4-5', price: { input_per_mtok: 5, output_per_mtok: 25, cached_input_per_mtok: 0.5 } });
    // Newer Claude IDs carry no date; a cache read need not be a tenth of input.
    expect(tablePrice('claude-opus-5-5')?.price).toMatchObject({ input_per_mtok: 4, output_per_mtok: 20, cached_input_per_mtok: 0.2, batch_input_per_mtok: 2 });
    expect(tablePrice('claude-fable-5-1')?.price).toMatchObject({ input_per_mtok: 10, output_per_mtok: 50, cached_input_per_mtok: 0.25 });
    // Retired on the Claude API (https://platform.claude.com/docs/en/about-claude/pricing): no longer listed.
    for (const retired of ['claude-opus-4-1-20250805', 'claude-opus-4', 'claude-sonnet-4-5']) expect(tablePrice(retired)).toBeUndefined();
    expect(tablePrice('openai/gpt-4.1-mini')?.matched).toBe('gpt-4.1-mini');
    expect(tablePrice('models/gemini-2.5-flash')?.matched).toBe('gemini-2.5-flash');
    expect(tablePrice('GPT-5')?.matched).toBe('gpt-5');
    for (const unknown of ['gpt-4o-mini-tts', 'qwen3:8b', 'fake-gpt-4o-mini', 'gpt-4', 'm']) expect(tablePrice(unknown)).toBeUndefined();
  });

  it('dates each entry: the last read, or the earlier read that last confirmed it', () => {
    expect(tablePrice('claude-opus-5')?.as_of).toBe(PRICES_AS_OF);
    expect(tablePrice('gpt-4o-mini')?.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((tablePrice('gpt-4o-mini')?.as_of ?? PRICES_AS_OF) < PRICES_AS_OF).toBe(true);
    expect(priceOf({ pricing: FREE }, 'gpt-4o-mini').as_of).toBe(tablePrice('gpt-4o-mini')?.as_of);
  });

  it('bills the batch APIs at half the online price, for every model', () => {
    for (const [model, p] of Object.entries(PRICE_TABLE)) {
      expect(p.batch_input, model).toBeCloseTo(p.input / 2, 12);
      expect(p.batch_output, model).toBeCloseTo(p.output / 2, 12);
      expect(p.cached_input, model).toBeLessThanOrEqual(p.input);
    }
  });
});

describe('the price in effect', () => {
  it('is the configured pricing when there is one, whatever the model', () => {
    const price = priceOf({ pricing: { input_per_mtok: 1, output_per_mtok: 2 }, priced: true }, 'gpt-4o');
    expect(price).toEqual({ input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 1, batch_input_per_mtok: 1, batch_output_per_mtok: 2, source: 'configured', matched: null, as_of: null });
    // Configured as free is still configured (a local gateway): not the table's price.
    expect(priceOf({ pricing: FREE, priced: true }, 'gpt-4o').source).toBe('configured');
  });

  it('is the table’s without configured pricing, and 0 and unknown for a model the table lacks', () => {
    expect(priceOf({ pricing: FREE }, 'o4-mini')).toMatchObject({ source: 'table', input_per_mtok: 1.1, output_per_mtok: 4.4, batch_input_per_mtok: 0.55 });
    expect(priceOf({ pricing: FREE }, 'qwen3:8b')).toMatchObject({ source: 'unknown', input_per_mtok: 0, output_per_mtok: 0 });
  });
});

describe('what an answer costs, by price kind', () => {
  const price = { input_per_mtok: 2, output_per_mtok: 8, cached_input_per_mtok: 0.5, batch_input_per_mtok: 1, batch_output_per_mtok: 4 };

  it('prices input, cached input and output at their rates', () => {
    expect(costOf({ input: 1_000_000, output: 0 }, price)).toBeCloseTo(2, 12);
    expect(costOf({ input: 1_000_000, output: 1_000_000, cached: 400_000 }, price)).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 8, 12);
    // More cached tokens than input is a provider's rounding, not negative input.
    expect(costOf({ input: 10, output: 0, cached: 20 }, price)).toBeCloseTo((10 * 0.5) / 1e6, 15);
  });

  it('prices a batch answer at batch rates, cached input with both discounts', () => {
    expect(costOf({ input: 1_000_000, output: 1_000_000 }, price, 'batch')).toBeCloseTo(1 + 4, 12);
    expect(costOf({ input: 1_000_000, output: 0, cached: 1_000_000 }, price, 'batch')).toBeCloseTo(0.25, 12);
  });

  it('addUsage adds the priced answer; a cache hit costs nothing and is no request', () => {
    const usage = emptyUsage();
    addUsage(usage, { input: 1000, output: 500, cached: 200 }, price);
    addUsage(usage, { input: 1000, output: 500 }, price, 'batch');
    addUsage(usage, { input: 1000, output: 500 }, price, 'cache');
    expect(usage.requests).toBe(2);
    expect(usage.input_tokens).toBe(2000);
    expect(usage.cost_usd).toBeCloseTo((800 * 2 + 200 * 0.5 + 500 * 8 + 1000 * 1 + 500 * 4) / 1e6, 15);
  });
});

describe('projection and budget', () => {
  it('projects spent ÷ finished × total, nothing before the first task finished or for a pipeline', () => {
    expect(projectedCost({ total: 10, done: 0, failed: 0, cost_usd: 0 })).toBeNull();
    expect(projectedCost({ total: 10, done: 3, failed: 1, cost_usd: 2 })).toBeCloseTo(5, 12);
    expect(projectedCost({ total: 10, done: 3, failed: 1, cost_usd: 2 }, true)).toBeNull();
  });

  it('crosses the budget when the spend reaches it, or the projection exceeds it once enough tasks finished', () => {
    expect(budgetCrossed({ total: 100, done: 1, failed: 0, cost_usd: 5 }, null)).toBeUndefined();
    expect(budgetCrossed({ total: 100, done: 1, failed: 0, cost_usd: 5 }, 5)).toMatchObject({ by: 'spent', spent_usd: 5, budget_usd: 5 });
    const early = { total: 100, done: PROJECTION_MIN_FINISHED - 1, failed: 0, cost_usd: 1 };
    expect(budgetCrossed(early, 5)).toBeUndefined();
    expect(budgetCrossed({ ...early, done: PROJECTION_MIN_FINISHED }, 5)).toMatchObject({ by: 'projected', projected_usd: 20 });
    expect(budgetCrossed({ total: 100, done: 50, failed: 0, cost_usd: 1 }, 5)).toBeUndefined();
  });
});
