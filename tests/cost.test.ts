import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

// What a run costs: every answer priced by price kind (input, cached input, output) at the price in
// effect for its model — the table's for a well-known model, the configured one otherwise — checked
// against the usage the fake teacher reported for each call, whatever those numbers are.

const GPT_4O_MINI = { input: 0.15, cached: 0.075, output: 0.6 };
const HAIKU_4_5 = { input: 1, cached: 0.1, output: 5 };

describe.each(DATABASES)('cost by price kind, in usage, progress, /metrics and dry runs (%s)', (db) => {
  let h: Harness;
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 2 });
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-cost-')), 'providers.yaml');
    writeFileSync(
      file,
      [
        'providers:',
        // Dated snapshots of table models: priced from the table.
        `  tabled: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: gpt-4o-mini-2024-07-18 }`,
        `  claude: { kind: anthropic, base_url: "${fake.anthropicBaseUrl}", model: claude-haiku-4-5-20251001 }`,
        // A table model with configured pricing: the configuration wins.
        `  priced: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: gpt-4o, pricing: { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.5, batch_input_per_mtok: 1.5, batch_output_per_mtok: 7.5 } }`,
        `  local: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: my-finetune }`,
      ].join('\n'),
    );
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: file } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.configure({ cachedPromptShare: 0.5 });
  });

  const runToEnd = async (body: Record<string, unknown>) => (await request(h.url).post('/v1/generate').set('Prefer', 'wait=60').send(body).expect(200)).body.run;
  const eventsOf = (runId: string) => rows<{ type: string; data: Record<string, any> }>(h.quarry.database.db, sql`select type, data from run_events where run_id = ${runId} order by id`);

  /** What the fake's answers cost at `price`, from the usage each one reported. */
  function reportedCost(price: { input: number; cached: number; output: number }) {
    let input = 0;
    let cost = 0;
    for (const r of fake.requests()) {
      const u = (r.response as { usage?: Record<string, any> } | undefined)?.usage;
      if (!u) continue;
      // OpenAI: prompt_tokens includes cached_tokens; Anthropic: input_tokens excludes cache reads.
      const cached = u.prompt_tokens_details?.cached_tokens ?? u.cache_read_input_tokens ?? 0;
      const total = u.prompt_tokens ?? u.input_tokens + cached;
      const output = u.completion_tokens ?? u.output_tokens;
      input += total;
      cost += ((total - cached) * price.input + cached * price.cached + output * price.output) / 1e6;
    }
    return { input, cost };
  }

  it('GET /v1/providers shows the price in effect and its source: table, configured or unknown', async () => {
    const res = await request(h.url).get('/v1/providers').expect(200);
    const by = Object.fromEntries(res.body.providers.map((p: { name: string; pricing: unknown }) => [p.name, p.pricing]));
    expect(by.tabled).toMatchObject({ source: 'table', matched: 'gpt-4o-mini', input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075, batch_input_per_mtok: 0.075, batch_output_per_mtok: 0.3 });
    expect(by.tabled.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(by.claude).toMatchObject({ source: 'table', matched: 'claude-haiku-4-5', input_per_mtok: 1, output_per_mtok: 5 });
    expect(by.priced).toEqual({ input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.5, batch_input_per_mtok: 1.5, batch_output_per_mtok: 7.5, source: 'configured', matched: null, as_of: null });
    expect(by.local).toMatchObject({ source: 'unknown', input_per_mtok: 0, output_per_mtok: 0 });
    expect(by.ollama.source).toBe('unknown');
  });

  it('an OpenAI run costs its reported tokens × the table price, cached prompt tokens at the cached rate', async () => {
    const run = await runToEnd({ documents: [markdownDoc('cost.md', 6)], n_pairs: 1, llm: { provider: 'tabled' } });
    expect(run.status).toBe('succeeded');
    const reported = reportedCost(GPT_4O_MINI);
    expect(reported.input).toBeGreaterThan(0);
    expect(run.usage.input_tokens).toBe(reported.input);
    expect(run.usage.cost_usd).toBeCloseTo(reported.cost, 10);
    // Not the uncached price: half the prompt tokens were cache reads.
    const uncached = (run.usage.input_tokens * GPT_4O_MINI.input + run.usage.output_tokens * GPT_4O_MINI.output) / 1e6;
    expect(run.usage.cost_usd).toBeLessThan(uncached);
    expect(run.progress.cost_usd).toBeCloseTo(run.usage.cost_usd, 6);
  });

  it('an Anthropic run likewise: cache reads (reported apart from input_tokens) at the cached rate', async () => {
    const run = await runToEnd({ documents: [markdownDoc('claude.md', 4)], n_pairs: 1, llm: { provider: 'claude' } });
    expect(run.status).toBe('succeeded');
    const reported = reportedCost(HAIKU_4_5);
    expect(run.usage.input_tokens).toBe(reported.input);
    expect(run.usage.cost_usd).toBeCloseTo(reported.cost, 10);
  });

  it('configured pricing overrides the table; a model with neither costs 0', async () => {
    const priced = await runToEnd({ documents: [markdownDoc('priced.md', 3)], n_pairs: 1, llm: { provider: 'priced' } });
    expect(priced.usage.cost_usd).toBeCloseTo(reportedCost({ input: 3, cached: 0.5, output: 15 }).cost, 10);
    fake.reset();
    const local = await runToEnd({ documents: [markdownDoc('local.md', 2)], n_pairs: 1, llm: { provider: 'local' } });
    expect(local.usage.input_tokens).toBeGreaterThan(0);
    expect(local.usage.cost_usd).toBe(0);
  });

  it('progress events carry the cost so far, the projected total and the cost per minute', async () => {
    // Spread answers so the tasks commit in several batches.
    fake.configure({ latencyMs: [5, 150] });
    try {
      const run = await runToEnd({ documents: [markdownDoc('progress.md', 24)], n_pairs: 1, llm: { provider: 'tabled' } });
      const progress = (await eventsOf(run.id)).filter((e) => e.type === 'progress').map((e) => e.data);
      expect(progress.length).toBeGreaterThan(1);
      let last = 0;
      for (const p of progress) {
        expect(p.cost_usd).toBeGreaterThanOrEqual(last);
        last = p.cost_usd;
        const finished = p.done + p.failed;
        expect(finished).toBeGreaterThan(0);
        // cost_usd is shown rounded to 6 digits; the projection is made from the unrounded spend.
        expect(Math.abs(p.projected_cost_usd - (p.cost_usd / finished) * p.total)).toBeLessThanOrEqual((p.total / finished) * 1e-6 + 1e-6);
        expect(p.cost_per_minute).toBeGreaterThan(0);
        expect(p).not.toHaveProperty('batch_expected_completion');
      }
      // The last projection is the spend itself.
      expect(progress.at(-1)!.projected_cost_usd).toBeCloseTo(run.usage.cost_usd, 5);
      expect(run.progress.projected_cost_usd).toBeCloseTo(run.usage.cost_usd, 5);
    } finally {
      fake.configure({ latencyMs: 2 });
    }
  });

  it('a batch-mode run’s progress carries the expected completion its batches report', async () => {
    const run = await runToEnd({ documents: [markdownDoc('eta.md', 2)], n_pairs: 1, llm: { provider: 'tabled' } });
    expect(run.progress).not.toHaveProperty('batch_expected_completion');
    // What the batch loop writes into a batch-mode run's output.
    const eta = '2026-12-01T18:04:11.000Z';
    await h.quarry.database.db.execute(sql`update runs set output = output || ${JSON.stringify({ batch: { pending: 0, expected_completion: eta } })}::jsonb where id = ${run.id}`);
    const seen = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(seen.progress.batch_expected_completion).toBe(eta);
  });

  it('a queued run projects nothing yet', async () => {
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('queued.md', 2)], n_pairs: 1, llm: { provider: 'tabled' } }).expect(202)).body.run;
    if (run.progress.done + run.progress.failed === 0) expect(run.progress.projected_cost_usd).toBeNull();
    expect(run.max_cost_usd).toBeNull();
    await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'wait=30').expect(200);
  });

  it('/metrics counts the cost per provider and model', async () => {
    const run = await runToEnd({ documents: [markdownDoc('metrics.md', 2)], n_pairs: 1, llm: { provider: 'claude' } });
    const text = (await request(h.url).get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith('quarry_llm_cost_usd_total{provider="claude",model="claude-haiku-4-5-20251001"}'));
    expect(line).toBeDefined();
    expect(Number(line!.split(' ').at(-1))).toBeGreaterThanOrEqual(run.usage.cost_usd - 1e-9);
    expect(text).not.toMatch(/quarry_llm_cost_usd_total\{provider="local"/);
  });

  it('a dry run estimates with the table, at batch rates in batch mode, and says which prices it used', async () => {
    const body = { documents: [markdownDoc('dry.md', 5)], n_pairs: 2, llm: { provider: 'tabled' }, dry_run: true };
    const { plan } = (await request(h.url).post('/v1/generate').send(body).expect(200)).body;
    const expected = (plan.estimated_input_tokens * GPT_4O_MINI.input + plan.estimated_output_tokens * GPT_4O_MINI.output) / 1e6;
    expect(plan.estimated_cost_usd).toBeCloseTo(expected, 5);
    expect(plan.pricing).toEqual([{ provider: 'tabled', model: 'gpt-4o-mini-2024-07-18', source: 'table', batch: false, input_per_mtok: 0.15, output_per_mtok: 0.6 }]);
    const batch = (await request(h.url).post('/v1/generate').send({ ...body, llm: { provider: 'tabled', mode: 'batch' } }).expect(200)).body.plan;
    expect(batch.estimated_cost_usd).toBeCloseTo(plan.estimated_cost_usd / 2, 5);
    expect(batch.pricing[0]).toMatchObject({ batch: true, input_per_mtok: 0.075, output_per_mtok: 0.3 });
    const configured = (await request(h.url).post('/v1/generate').send({ ...body, llm: { provider: 'priced' } }).expect(200)).body.plan;
    expect(configured.pricing[0]).toMatchObject({ source: 'configured', input_per_mtok: 3 });
    const short = (await request(h.url).post('/v1/generate').send({ ...body, max_cost_usd: plan.estimated_cost_usd / 2 }).expect(200)).body.plan;
    expect(short.notes.join(' ')).toMatch(/exceeds max_cost_usd/);
    expect(plan.notes.join(' ')).not.toMatch(/max_cost_usd/);
    const unknown = (await request(h.url).post('/v1/generate').send({ ...body, llm: { provider: 'local' } }).expect(200)).body.plan;
    expect(unknown.estimated_cost_usd).toBeNull();
    expect(unknown.notes.join(' ')).toMatch(/No price is known.*local/);
  });
});
