import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, storedCounts, type Harness } from './support/harness.js';

const fixture = (name: string) => ({ name, text: readFileSync(join(import.meta.dirname, 'fixtures/markdown', name), 'utf8') });
const docs = [fixture('knowledge-generation.md'), fixture('deepfabric-generate.md')];
const pairs = Array.from({ length: 7 }, (_, i) => ({ question: `What does step ${i} of the pipeline do?`, answer: `Step ${i} turns chunks into pairs.` }));

describe.each(DATABASES)('"dry_run": true plans every job kind and queues nothing (%s)', (db) => {
  let h: Harness;
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 1 });
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-dry-run-')), 'providers.yaml');
    writeFileSync(file, ['providers:', '  priced:', '    kind: openai', `    base_url: ${fake.openaiBaseUrl}`, '    model: m', '    pricing: { input_per_mtok: 3, output_per_mtok: 15 }'].join('\n'));
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: file } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const post = (path: string, body: Record<string, unknown>) => request(h.url).post(path).send({ ...body, dry_run: true });

  it('generate: the chunks the run would use, its tasks, teacher calls and cost — and nothing written', async () => {
    const before = await storedCounts(h);
    const { plan } = (await post('/v1/generate', { documents: docs, n_pairs: 3 }).expect(200)).body;
    expect(plan).toMatchObject({ kind: 'generate', report: { documents: 2, pairs_requested: plan.tasks * 3 } });
    expect(plan.tasks).toBeGreaterThan(3);
    expect(plan.chunks).toHaveLength(plan.tasks);
    expect(plan.chunks_total).toBe(plan.tasks);
    expect(plan.teacher_calls).toBe(plan.tasks);
    const ids = plan.chunks.map((c: { id: string }) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of plan.chunks) {
      expect(c.chars).toBe(c.text.length);
      expect(c.chars).toBeGreaterThanOrEqual(200);
      expect(['knowledge-generation.md', 'deepfabric-generate.md']).toContain(c.source);
      expect(Array.isArray(c.section_path)).toBe(true);
    }
    // The image row of the knowledge README is in no chunk.
    expect(plan.chunks.some((c: { text: string }) => c.text.includes('Knowledge%20Genertaion.png'))).toBe(false);
    const chars = plan.chunks.reduce((sum: number, c: { chars: number }) => sum + c.chars, 0);
    expect(plan.estimated_input_tokens).toBeGreaterThan(chars / 4);
    expect(plan.estimated_output_tokens).toBeGreaterThan(0);
    // The default teacher (gpt-4o-mini) has no configured pricing: the price table's (tests/cost.test.ts checks the figures).
    expect(plan.estimated_cost_usd).toBeGreaterThan(0);
    expect(plan.pricing).toEqual([expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini', source: 'table' })]);
    expect(await storedCounts(h)).toEqual(before);
  });

  it('prices the estimate with the provider’s configured pricing, and counts the topic judge', async () => {
    const { plan } = (await post('/v1/generate', { documents: docs, topic: 'synthetic data', llm: { provider: 'priced' } }).expect(200)).body;
    expect(plan.teacher_calls).toBe(2 * plan.tasks);
    const expected = (plan.estimated_input_tokens * 3 + plan.estimated_output_tokens * 15) / 1e6;
    expect(plan.estimated_cost_usd).toBeGreaterThan(0);
    expect(Math.abs(plan.estimated_cost_usd - expected)).toBeLessThan(1e-4);
  });

  it('header_levels and the chunk sizes shape the chunks it shows', async () => {
    const body = { documents: [docs[1]] };
    const all = (await post('/v1/generate', body).expect(200)).body.plan;
    const h1 = (await post('/v1/generate', { ...body, header_levels: [1] }).expect(200)).body.plan;
    expect(h1.chunks_total).toBeLessThan(all.chunks_total);
    const small = (await post('/v1/generate', { ...body, min_chunk_size: 100, max_chunk_size: 400, overlap: 40 }).expect(200)).body.plan;
    expect(small.chunks_total).toBeGreaterThan(all.chunks_total);
    const bad = await post('/v1/generate', { ...body, header_levels: [7] }).expect(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('header_levels');
  });

  it('lists at most 1,000 chunks and counts them all', async () => {
    const text = Array.from({ length: 1100 }, (_, i) => `## Part ${i}\n\n${Array.from({ length: 40 }, (_, w) => `word${i}_${w}`).join(' ')}.`).join('\n\n');
    const { plan } = (await post('/v1/generate', { documents: [{ name: 'long.md', text }], n_pairs: 1 }).expect(200)).body;
    expect(plan.chunks).toHaveLength(1000);
    expect(plan.chunks_total).toBe(1100);
    expect(plan.tasks).toBe(1100);
  });

  it('topics, enrich, curate and knowledge: tasks queued at the start and every teacher call after', async () => {
    const before = await storedCounts(h);
    const topics = (await post('/v1/topics', { prompt: 'Postgres', degree: 3, depth: 2 }).expect(200)).body.plan;
    expect(topics).toMatchObject({ kind: 'topics', tasks: 1, teacher_calls: 1 + 3, chunks: [], chunks_total: 0 });
    const enrich = (await post('/v1/enrich', { records: pairs, batch_size: 3 }).expect(200)).body.plan;
    expect(enrich).toMatchObject({ kind: 'enrich', tasks: 3, teacher_calls: 3 });
    const curate = (await post('/v1/curate', { records: [...pairs, pairs[0]], batch_size: 5, dedup: { exact: true } }).expect(200)).body.plan;
    // The exact duplicate is set aside by a task without a teacher; 7 survivors are judged in 2 calls.
    expect(curate).toMatchObject({ kind: 'curate', tasks: 3, teacher_calls: 2, report: { duplicates: { exact: 1 } } });
    const dedupOnly = (await post('/v1/curate', { records: pairs, judge: false, dedup: { exact: true } }).expect(200)).body.plan;
    expect(dedupOnly).toMatchObject({ teacher_calls: 0, estimated_input_tokens: 0, estimated_cost_usd: 0 });
    const seed = (i: number) => ({ document: `Document ${i}. ${'It says something specific. '.repeat(20)}` });
    const knowledge = (await post('/v1/generate', { task: 'knowledge', seed_records: [seed(1), seed(2)], flows: ['document_qa', 'key_facts'], facts_per_document: 4 }).expect(200)).body.plan;
    // Per seed: document Q&A is questions, answers, judge (3); key facts is 1 call then, per fact, the pairs (1 + 4; unjudged, as in sdg_hub).
    expect(knowledge).toMatchObject({ kind: 'generate', tasks: 4, teacher_calls: 2 * (3 + 1 + 4) });
    const judged = (await post('/v1/generate', { task: 'knowledge', seed_records: [seed(1)], flows: ['key_facts', 'extractive_summary'], facts_per_document: 4, summaries_per_document: 5, summaries_per_call: 2, judge_key_facts: true }).expect(200)).body.plan;
    // Key facts judged: 1 + 4 × 2; summaries two at a time: 3 calls, then per summary questions, answers, judge (5 × 3).
    expect(judged).toMatchObject({ teacher_calls: 1 + 4 * 2 + 3 + 5 * 3 });
    expect(await storedCounts(h)).toEqual(before);
  });

  it('pipelines: the first stage planned now, later ones named as planned when their input exists', async () => {
    const before = await storedCounts(h);
    const { plan } = (await post('/v1/pipelines', { generate: { documents: [docs[0]], n_pairs: 2 }, enrich: { batch_size: 4 }, curate: {} }).expect(200)).body;
    expect(plan.kind).toBe('pipeline');
    expect(plan.stages).toEqual([
      { stage: 'generate', planned: true, tasks: plan.chunks_total, teacher_calls: plan.chunks_total },
      { stage: 'enrich', planned: false, note: expect.stringContaining('generate') },
      { stage: 'curate', planned: false, note: expect.stringContaining('enrich') },
    ]);
    expect(plan.tasks).toBe(1 + plan.chunks_total);
    expect(plan.chunks.length).toBeGreaterThan(0);
    expect(plan.teacher_calls).toBe(plan.chunks_total);
    expect(await storedCounts(h)).toEqual(before);
  });

  it('"dry_run": false queues as usual; a dry run keeps no Idempotency-Key; a bad flag is a 400 naming it', async () => {
    const dry = await request(h.url).post('/v1/enrich').set('Idempotency-Key', 'dry-key').send({ records: pairs, dry_run: true }).expect(200);
    expect(dry.body.run).toBeUndefined();
    const real = await request(h.url).post('/v1/enrich').set('Idempotency-Key', 'dry-key').send({ records: pairs.slice(0, 2), dry_run: false }).expect(202);
    expect(real.body.run.spec.dry_run).toBeUndefined();
    expect(real.body.run.progress.total).toBe(1);
    const bad = await request(h.url).post('/v1/topics').send({ prompt: 'x', dry_run: 'yes' }).expect(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('dry_run');
    // A pipeline's stages take no flag of their own.
    const nested = await request(h.url).post('/v1/pipelines').send({ dataset_id: real.body.run.output.dataset_id, enrich: { dry_run: true } }).expect(400);
    expect(JSON.stringify(nested.body.error.details)).toContain('dry_run');
  });
});
