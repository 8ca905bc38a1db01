import type { NewTask } from '../../db/runs.repository.js';
import { AppError } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import type { ProviderRegistry } from '../../src/llm/providers.js';
import { startRun, type RunsDeps } from '../runs/runs.service.js';
import { checkGenerateSpec } from './generate.check.js';
import type { GenerateSpec } from './generate.spec.js';
import { splitMarkdown } from './markdown-loader.js';
import { planPairs } from './pair-plan.js';
import { loadDatasetChunks } from './sources/dataset.source.js';
import { loadLanceChunks } from './sources/lancedb.source.js';
import type { PlannedChunk } from './sources/planned-chunk.js';
import { drawSamples, type RandomStrategy } from './sampling.js';
import type { GenerateTaskPayload } from './task-payload.js';
import { startKnowledge } from '../knowledge/knowledge.service.js';
import { startFromTopics } from './from-topics.js';

export interface GenerateDeps extends RunsDeps {
  providers: ProviderRegistry;
  /** Directories LanceDB sources may be read from (LANCEDB_ROOTS). */
  lancedbRoots: string[];
}

/** Upper bound of chunks one run reads from a table or dataset. */
export const MAX_SOURCE_CHUNKS = 200_000;

/** Every source becomes a list of chunks, each with a task key that is unique within the run. */
async function loadChunks(deps: GenerateDeps, owner: string, spec: GenerateSpec): Promise<PlannedChunk[]> {
  if (spec.lancedb) return loadLanceChunks(spec.lancedb, deps.lancedbRoots, spec.lancedb.max_chunks ?? MAX_SOURCE_CHUNKS);
  if (spec.dataset_id) return loadDatasetChunks(deps.database, owner, spec.dataset_id, MAX_SOURCE_CHUNKS);
  const options = { minChunkSize: spec.min_chunk_size, maxChunkSize: spec.max_chunk_size, overlap: spec.overlap };
  try {
    return spec.documents!.flatMap((document, doc) =>
      splitMarkdown(document, options).map((c) => ({ key: `d${doc}/${c.chunk_id}`, chunk: { chunk_id: c.chunk_id, content: c.content, source: c.source, section_path: c.section_path } })),
    );
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const field = ['minChunkSize', 'maxChunkSize', 'overlap'].find((o) => err.message.includes(o))?.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) ?? 'documents';
    throw new AppError('validation_failed', err.message, [{ field, message: err.message }]);
  }
}

/** One task per selected chunk; how many items each asks for comes from the pair plan. */
export function planGenerate(spec: GenerateSpec, chunks: PlannedChunk[], rejectedDatasetId?: string): { tasks: NewTask[]; report: Record<string, unknown> } {
  const task = spec.task ?? 'qa';
  // A conversation is one per chunk; the pair plan then only selects chunks.
  const plan = planPairs(chunks.length, { nPairs: task === 'conversation' ? 1 : spec.n_pairs, targetPairs: spec.target_pairs, maxChunks: spec.max_chunks });
  const tasks = plan.map(({ index, pairs }) => {
    const payload: Omit<GenerateTaskPayload, 'dataset_id'> = {
      chunk: chunks[index].chunk,
      pairs,
      llm: spec.llm ?? {},
      system_prompt: spec.system_prompt,
      language: spec.language,
      seed_examples: spec.seed_examples,
      turns: spec.turns,
      answers: spec.answers,
      topic: spec.topic,
      rejected_dataset_id: rejectedDatasetId,
    };
    return { key: chunks[index].key, kind: `generate.${task}`, maxAttempts: spec.max_attempts, payload };
  });
  const requested = plan.reduce((sum, p) => sum + p.pairs, 0);
  const code = plan.filter((p) => chunks[p.index].chunk.code).length;
  return {
    tasks,
    report: {
      ...(spec.documents ? { documents: spec.documents.length } : {}),
      chunks: chunks.length,
      chunks_used: plan.length,
      ...(code > 0 ? { code_chunks_used: code } : {}),
      ...(task === 'conversation' ? { conversations_requested: plan.length } : { [task === 'cot' ? 'examples_requested' : 'pairs_requested']: requested }),
      ...(spec.target_pairs !== undefined && requested < spec.target_pairs ? { note: `target_pairs ${spec.target_pairs} capped at ${requested} (50 pairs per chunk at most)` } : {}),
    },
  };
}

export async function startGenerate(deps: GenerateDeps, input: { owner: string; spec: GenerateSpec; idempotencyKey?: string; parent?: { runId: string; stage: number } }) {
  checkGenerateSpec(input.spec, deps.providers);
  if (input.spec.task === 'knowledge') return startKnowledge(deps, input);
  if (input.spec.topics_id !== undefined || input.spec.topics !== undefined) return startFromTopics(deps, input);
  const chunks = await loadChunks(deps, input.owner, input.spec);
  const rejectedId = input.spec.topic ? newId('ds') : undefined;
  if (input.spec.strategy?.type === 'random') return startSampled(deps, input, chunks, rejectedId);
  const planned = planGenerate(input.spec, chunks, rejectedId);
  if (planned.tasks.length === 0) {
    const field = input.spec.lancedb ? 'lancedb' : input.spec.dataset_id ? 'dataset_id' : 'documents';
    throw new AppError('validation_failed', `${field}: the source produced no chunks to generate from`, [{ field, message: 'no non-empty chunks' }]);
  }
  const task = input.spec.task ?? ('qa' as const);
  // The chunks live in the tasks; the run keeps what the request was, not a second copy of the text.
  const documents = input.spec.documents?.map((d) => ({ name: d.name, chars: d.text.length, sha256: hashOf(d.text) }));
  const spec = { task, ...input.spec, ...(documents ? { documents } : {}) };
  const origin = input.spec.documents?.[0].name ?? (input.spec.lancedb ? input.spec.lancedb.tables.join('+') : `dataset ${input.spec.dataset_id}`);
  return startRun(deps, {
    owner: input.owner,
    kind: 'generate',
    spec,
    requestHash: hashOf(input.spec),
    idempotencyKey: input.idempotencyKey,
    parent: input.parent,
    tasks: planned.tasks,
    dataset: { name: input.spec.dataset_name ?? `${task} from ${origin}`, meta: { kind: task, source_run_kind: 'generate' } },
    extraDatasets: rejectedId ? [{ id: rejectedId, name: `${task} from ${origin} (off topic, rejected)`, meta: { kind: 'rejected', source_run_kind: 'generate' }, output: 'rejected_dataset_id' }] : [],
    report: planned.report,
  });
}

/**
 * Random strategy: each sample is planned like a small run of its own and writes its own dataset
 * (`output.datasets.sample_N`); keys carry the sample, so samples that share a chunk do not collide.
 */
async function startSampled(deps: GenerateDeps, input: Parameters<typeof startGenerate>[1], chunks: PlannedChunk[], rejectedId: string | undefined) {
  const spec = input.spec;
  const strategy = spec.strategy as RandomStrategy;
  const samples = drawSamples(chunks, strategy);
  const ids = samples.map(() => newId('ds'));
  const task = spec.task ?? 'qa';
  const tasks = samples.flatMap((sample, s) =>
    planGenerate(spec, sample, rejectedId).tasks.map((t) => ({ ...t, key: `sample${s + 1}/${t.key}`, payload: { ...(t.payload as object), dataset_id: ids[s] } })),
  );
  const documents = spec.documents?.map((d) => ({ name: d.name, chars: d.text.length, sha256: hashOf(d.text) }));
  const name = spec.dataset_name ?? `${task} sample`;
  return startRun(deps, {
    owner: input.owner,
    kind: 'generate',
    spec: { task, ...spec, ...(documents ? { documents } : {}) },
    requestHash: hashOf(spec),
    idempotencyKey: input.idempotencyKey,
    parent: input.parent,
    tasks,
    dataset: { id: ids[0], name: `${name} 1`, meta: { kind: task, source_run_kind: 'generate', sample: 1 } },
    extraDatasets: [
      ...ids.slice(1).map((id, s) => ({ id, name: `${name} ${s + 2}`, meta: { kind: task, source_run_kind: 'generate', sample: s + 2 } })),
      ...(rejectedId ? [{ id: rejectedId, name: `${name} (off topic, rejected)`, meta: { kind: 'rejected' }, output: 'rejected_dataset_id' }] : []),
    ],
    output: { datasets: Object.fromEntries(ids.map((id, s) => [`sample_${s + 1}`, id])) },
    report: { chunks: chunks.length, seed: strategy.seed ?? 42, samples: samples.map((sample, s) => ({ sample: s + 1, dataset_id: ids[s], chunk_ids: sample.map((c) => c.chunk.chunk_id) })) },
  });
}
