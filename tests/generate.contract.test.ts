import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 8, item 4: the generate request is a union on `task` whose variants list only the fields
 * that apply to them, each with a source union of its own; today's flat bodies still work, and an
 * error names the field at fault (one detail, not one per variant), and every allowed value of an enum.
 */
const contract = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'));
const generate = contract.paths['/v1/generate'].post.requestBody.content['application/json'].schema;
const variant = (task: string) => generate.anyOf.find((v: { title: string }) => v.title === task);
const fieldsOf = (task: string) => Object.keys(variant(task).properties);
const sourcesOf = (task: string) => variant(task).oneOf.map((o: { required: string[] }) => o.required[0]);

const doc = markdownDoc('guide.md', 2);
const seed = { document: '# Rust\n\nOwnership moves values between bindings.', domain: 'programming', icl_query_1: 'What moves?' };
const TASKS = '"qa", "cot", "conversation", "knowledge"';
const CHUNK_SOURCES = 'documents, lancedb, dataset_id, topics_id or topics';

describe('the generate contract (OpenAPI)', () => {
  it('is a union on task, one variant per task, qa the default (its task optional)', () => {
    expect(generate.discriminator).toEqual({ propertyName: 'task' });
    expect(generate.anyOf.map((v: { title: string }) => v.title)).toEqual(['qa', 'cot', 'conversation', 'knowledge']);
    expect(variant('qa').required ?? []).not.toContain('task');
    for (const task of ['cot', 'conversation', 'knowledge']) expect(variant(task).required).toContain('task');
    for (const v of generate.anyOf) expect(v.additionalProperties).toBe(false);
  });

  it('lists in each variant only the fields that apply to its task', () => {
    expect(fieldsOf('qa')).toEqual(fieldsOf('cot'));
    expect(fieldsOf('qa')).toEqual(expect.arrayContaining(['n_pairs', 'target_pairs', 'topic', 'strategy', 'num_samples', 'language', 'llm']));
    expect(fieldsOf('qa')).not.toEqual(expect.arrayContaining(['turns']));
    for (const field of ['turns', 'answers', 'conversation', 'include_system_message', 'seed_records', 'flows']) expect(fieldsOf('qa')).not.toContain(field);
    expect(fieldsOf('conversation')).toEqual(expect.arrayContaining(['turns', 'answers', 'conversation', 'include_system_message', 'max_chunks', 'num_samples']));
    for (const field of ['n_pairs', 'target_pairs', 'topic', 'seed_records']) expect(fieldsOf('conversation')).not.toContain(field);
    expect(fieldsOf('knowledge').sort()).toEqual(
      ['task', 'seed_records', 'dataset_id', 'flows', 'summaries_per_document', 'questions_per_context', 'facts_per_document', 'pairs_per_fact', 'summaries_per_call', 'judge_against', 'judge_key_facts', 'system_prompt', 'dataset_name', 'max_attempts', 'llm', 'cache', 'max_cost_usd', 'dry_run'].sort(),
    );
  });

  it('gives each variant its source union: exactly one of its source fields', () => {
    for (const task of ['qa', 'cot', 'conversation']) expect(sourcesOf(task)).toEqual(['documents', 'lancedb', 'dataset_id', 'topics_id', 'topics']);
    expect(sourcesOf('knowledge')).toEqual(['seed_records', 'dataset_id']);
  });

  it('embeds the same variants in a pipeline, the source left to the topics stage', () => {
    const stage = contract.paths['/v1/pipelines'].post.requestBody.content['application/json'].schema.properties.generate;
    expect(stage.discriminator).toEqual({ propertyName: 'task' });
    // The same fields, less the request's own dry_run flag (the pipeline request carries it).
    expect(stage.anyOf.map((v: { title: string; properties: object }) => [v.title, Object.keys(v.properties)])).toEqual(
      generate.anyOf.map((v: { title: string; properties: object }) => [v.title, Object.keys(v.properties).filter((k) => k !== 'dry_run')]),
    );
    for (const v of stage.anyOf) expect(v.oneOf).toBeUndefined();
  });
});

describe.each(DATABASES)('generate requests by task (%s)', (db) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    // Nothing needs to run: a request that is accepted queues its run and answers 202.
    h = await startHarness({ db, env: { WORKER_CONCURRENCY: '0' } });
    datasetId = (await request(h.url).post('/v1/datasets').send([{ content: 'Postgres vacuums dead tuples.' }]).expect(201)).body.dataset.id;
  });
  afterAll(() => h?.close());

  const post = (body: unknown) => request(h.url).post('/v1/generate').send(body as object);

  it.each([
    ['qa by default, from documents', { documents: [doc], n_pairs: 2 }],
    ['qa with every chunk option', { task: 'qa', documents: [doc], target_pairs: 4, max_chunks: 2, min_chunk_size: 100, max_chunk_size: 1000, overlap: 20, topic: 'facts and sections', language: 'Spanish', seed_examples: ['Why?'] }],
    ['qa sampled at random', { documents: [doc], strategy: { type: 'random', num_samples: 2, chunks_per_sample: 1, seed: 7 }, llm: { provider: 'openai', temperature: 0.2 } }],
    ['cot from a dataset', { task: 'cot', dataset_id: 'DATASET', n_pairs: 1, system_prompt: 'Be brief.', dataset_name: 'cot', max_attempts: 2 }],
    ['conversation from documents', { task: 'conversation', documents: [doc], turns: 4, answers: false }],
    ['conversation from topics', { task: 'conversation', topics: [['Cooking', 'Bread']], conversation: { type: 'cot', reasoning_style: 'structured' }, include_system_message: true, instructions: 'Practical.', batch_size: 2, num_samples: 3 }],
    ['qa from topics', { topics: [['Postgres', 'Vacuum']], num_samples: '100%' }],
    ['knowledge from seed records', { task: 'knowledge', seed_records: [seed], flows: ['key_facts'], facts_per_document: 2, pairs_per_fact: 1 }],
  ])('accepts today’s flat body: %s', async (_label, body) => {
    const res = await post(JSON.parse(JSON.stringify(body).replace('DATASET', datasetId)));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });

  it.each([
    ['an unknown task', { task: 'summ', documents: [doc] }, [{ field: 'task', message: `must be one of ${TASKS}` }]],
    ['a task that is not a string', { task: 7, documents: [doc] }, [{ field: 'task', message: `must be one of ${TASKS}` }]],
    ['turns on qa', { documents: [doc], turns: 3 }, [{ field: 'turns', message: 'only applies to task "conversation"' }]],
    ['answers on cot', { task: 'cot', documents: [doc], answers: false }, [{ field: 'answers', message: 'only applies to task "conversation"' }]],
    ['flows on qa', { documents: [doc], flows: ['key_facts'] }, [{ field: 'flows', message: 'only applies to task "knowledge"' }]],
    ['n_pairs on knowledge', { task: 'knowledge', seed_records: [seed], n_pairs: 2 }, [{ field: 'n_pairs', message: 'does not apply to task "knowledge" (only to tasks "qa" and "cot")' }]],
    ['topic on conversation', { task: 'conversation', documents: [doc], topic: 'x y' }, [{ field: 'topic', message: 'does not apply to task "conversation" (only to tasks "qa" and "cot")' }]],
    ['a knowledge source on qa', { documents: [doc], seed_records: [seed] }, [{ field: 'seed_records', message: `only applies to task "knowledge"; task "qa" reads ${CHUNK_SOURCES}` }]],
    [
      'a topic source on knowledge',
      { task: 'knowledge', topics: [['a']] },
      [
        { field: 'topics', message: 'does not apply to task "knowledge" (only to tasks "qa", "cot" and "conversation"); task "knowledge" reads seed_records or dataset_id' },
        { field: 'task', message: '"knowledge" reads seed_records or dataset_id, not topics' },
      ],
    ],
    ['two sources', { documents: [doc], dataset_id: 'ds_000000000000000000000000' }, [{ field: 'dataset_id', message: 'give one source, not documents and dataset_id' }]],
    ['no source', { task: 'cot', n_pairs: 1 }, [{ field: 'documents', message: `is missing: give one source (${CHUNK_SOURCES})` }]],
    ['no knowledge source', { task: 'knowledge' }, [{ field: 'seed_records', message: 'is missing: give one source (seed_records or dataset_id)' }]],
    ['an unknown strategy', { documents: [doc], strategy: { type: 'shuffled' } }, [{ field: 'strategy.type', message: 'must be one of "sequential", "random"' }]],
    ['an unknown conversation type', { task: 'conversation', topics: [['a']], conversation: { type: 'tree' } }, [{ field: 'conversation.type', message: 'must be one of "basic", "cot"' }]],
    ['an unknown field', { task: 'conversation', documents: [doc], turn: 3 }, [{ field: 'turn', message: 'is not a known field' }]],
  ])('refuses %s with one detail per fault, naming the field', async (_label, body, details) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual(details);
  });

  it('names every task in the message of an unknown task', async () => {
    const res = await post({ task: 'summ', documents: [doc] }).expect(400);
    expect(res.body.error.message).toBe(`task must be one of ${TASKS}`);
  });

  it('names every export format for an unknown one', async () => {
    const formats = contract.paths['/v1/datasets/{id}/export'].get.parameters.find((p: { name: string }) => p.name === 'format').schema.anyOf.map((s: { enum: string[] }) => s.enum[0]);
    expect(formats.length).toBeGreaterThan(2);
    const res = await request(h.url).get(`/v1/datasets/${datasetId}/export?format=csv`).expect(400);
    expect(res.body.error.details).toEqual([{ field: 'format', message: `must be one of ${formats.map((f: string) => JSON.stringify(f)).join(', ')}` }]);
  });

  it.each([
    ['a field of another task', { generate: { task: 'cot', documents: [doc], turns: 2 } }, [{ field: 'generate.turns', message: 'only applies to task "conversation"' }]],
    ['an unknown task', { generate: { task: 'summ' } }, [{ field: 'generate.task', message: `must be one of ${TASKS}` }]],
  ])('refuses a pipeline whose generate stage has %s, naming it inside the stage', async (_label, body, details) => {
    const res = await request(h.url).post('/v1/pipelines').send(body).expect(400);
    // A JSON body is checked against the pipeline schema alone (YAML has its own media type).
    expect(res.body.error.details).toEqual(details);
  });

  it('refuses a knowledge stage after a topics stage (topics are no seed records), naming its task', async () => {
    const res = await request(h.url).post('/v1/pipelines').send({ topics: { prompt: 'Rust', degree: 2, depth: 1 }, generate: { task: 'knowledge' } }).expect(400);
    expect(res.body.error.details).toEqual([{ field: 'generate.task', message: 'topics feed qa, cot or conversation' }]);
  });

  it('accepts a pipeline generate stage without a source after a topics stage', async () => {
    await request(h.url).post('/v1/pipelines').send({ topics: { prompt: 'Rust', degree: 2, depth: 1 }, generate: { task: 'conversation', num_samples: 2 } }).expect(202);
  });
});
