import { createHash } from 'node:crypto';
import type { NewTask } from '../../db/runs.repository.js';
import { AppError } from '../../src/errors.js';
import { nextTurn, pacer } from '../../src/pacer.js';
import { checkPlanBytes, checkTaskCount, LIMITS, sharedBytes, tooLarge } from '../limits.js';
import { hashOf, newId } from '../../src/ids.js';
import type { RunPlan } from '../runs/runs.service.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import { checkGenerateSpec } from './generate.check.js';
import type { GenerateSpec } from './generate.spec.js';
import { pacedMarkdownChunks } from './markdown-loader.js';
import { planPairs } from './pair-plan.js';
import { loadDatasetChunks } from './sources/dataset.source.js';
import { loadLanceChunks } from './sources/lancedb.source.js';
import type { PlannedChunk } from './sources/planned-chunk.js';
import { drawSamples, sampledChunkCount, type RandomStrategy } from './sampling.js';
import { conversationTask } from './conversation.task.js';
import { cotTask } from './cot.task.js';
import { qaTask } from './qa.task.js';
import { planKnowledge } from '../knowledge/knowledge.service.js';
import { planFromTopics } from './from-topics.js';

type Pace = ReturnType<typeof pacer>;

/** What generating from chunks uses: runs, providers (checked at plan time) and the LanceDB roots. */
export type GenerateDeps = Pick<JobDeps, 'database' | 'providers' | 'lancedbRoots'>;

/** The task kind each chunk task runs, by the request's `task`. */
const CHUNK_TASKS = { qa: qaTask, cot: cotTask, conversation: conversationTask };

/** Upper bound of chunks one run reads from a table or dataset, or splits its documents into. */
export const MAX_SOURCE_CHUNKS = LIMITS.sourceChunks;

/** Every source becomes a list of chunks, each with a task key that is unique within the run. */
async function loadChunks(deps: GenerateDeps, owner: string, spec: GenerateSpec, pace: Pace): Promise<PlannedChunk[]> {
  if (spec.lancedb) return loadLanceChunks(spec.lancedb, deps.lancedbRoots, spec.lancedb.max_chunks ?? MAX_SOURCE_CHUNKS);
  if (spec.dataset_id) return loadDatasetChunks(deps.database, owner, spec.dataset_id, MAX_SOURCE_CHUNKS);
  const options = { minChunkSize: spec.min_chunk_size, maxChunkSize: spec.max_chunk_size, overlap: spec.overlap, headerLevels: spec.header_levels };
  const chunks: PlannedChunk[] = [];
  try {
    for (const [doc, document] of spec.documents!.entries()) {
      // Parsed a segment at a time and split a chunk at a time: a limit stops a runaway split early, and the event loop gets turns.
      for await (const c of pacedMarkdownChunks(document, options, pace)) {
        if (chunks.length === MAX_SOURCE_CHUNKS) {
          throw tooLarge('max_chunk_size', `the documents split into more than ${MAX_SOURCE_CHUNKS.toLocaleString('en-US')} chunks; raise max_chunk_size (or min_chunk_size), or send fewer documents`);
        }
        chunks.push({ key: `d${doc}/${c.chunk_id}`, chunk: { chunk_id: c.chunk_id, content: c.content, source: c.source, section_path: c.section_path } });
        const turn = pace();
        if (turn) await turn;
      }
    }
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const field = ['minChunkSize', 'maxChunkSize', 'overlap', 'headerLevels'].find((o) => err.message.includes(o))?.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) ?? 'documents';
    throw new AppError('validation_failed', err.message, [{ field, message: err.message }]);
  }
  return chunks;
}

/**
 * What a run keeps of its documents: name, length and `hashOf(text)`, hashed a megabyte at a time
 * (the same value: JSON escaping is per character, and slices never split a surrogate pair).
 */
export async function documentSummaries(documents: Array<{ name: string; text: string }>, pace: Pace = pacer()) {
  const SLICE = 2 ** 20;
  const out = [];
  for (const d of documents) {
    const hash = createHash('sha256').update('"');
    for (let i = 0; i < d.text.length; ) {
      let end = Math.min(i + SLICE, d.text.length);
      if (end < d.text.length && /[\uD800-\uDBFF]/.test(d.text[end - 1])) end++;
      hash.update(JSON.stringify(d.text.slice(i, end)).slice(1, -1));
      i = end;
      const turn = pace();
      if (turn) await turn;
    }
    out.push({ name: d.name, chars: d.text.length, sha256: hash.update('"').digest('hex') });
  }
  return out;
}

/** The field to name when a plan is too big: the one that sized it. */
function sizingField(spec: GenerateSpec): string {
  if (spec.target_pairs !== undefined) return 'target_pairs';
  if (spec.documents) return 'max_chunk_size';
  return spec.lancedb ? 'lancedb.max_chunks' : 'max_chunks';
}

/** One task per selected chunk; how many items each asks for comes from the pair plan. Too big a plan is a 400 before any task exists. */
export async function planGenerate(
  spec: GenerateSpec,
  chunks: PlannedChunk[],
  into: { rejectedDatasetId?: string; datasetId?: string; keyPrefix?: string } = {},
  pace: Pace = pacer(),
): Promise<{ tasks: NewTask[]; report: Record<string, unknown> }> {
  const rejectedDatasetId = into.rejectedDatasetId;
  const task = spec.task ?? 'qa';
  if (task === 'knowledge') throw new Error('knowledge runs are planned by services/knowledge');
  // A conversation is one per chunk; the pair plan then only selects chunks.
  const plan = planPairs(chunks.length, { nPairs: task === 'conversation' ? 1 : spec.n_pairs, targetPairs: spec.target_pairs, maxChunks: spec.max_chunks });
  checkTaskCount(plan.length, sizingField(spec), 'set max_chunks to use fewer chunks');
  const shared = {
    llm: spec.llm ?? {},
    system_prompt: spec.system_prompt,
    language: spec.language,
    seed_examples: spec.seed_examples,
    turns: spec.turns,
    answers: spec.answers,
    topic: spec.topic,
    rejected_dataset_id: rejectedDatasetId,
  };
  let bytes = plan.length * (sharedBytes(shared) + 200);
  for (const { index } of plan) bytes += chunks[index].chunk.content.length + chunks[index].key.length * 2;
  checkPlanBytes(bytes, sizingField(spec), 'set max_chunks to use fewer chunks, or shorten system_prompt and seed_examples');
  const tasks: NewTask[] = [];
  for (const { index, pairs } of plan) {
    const payload = { chunk: chunks[index].chunk, pairs, ...shared, ...(into.datasetId ? { dataset_id: into.datasetId } : {}) };
    tasks.push(CHUNK_TASKS[task].plan(`${into.keyPrefix ?? ''}${chunks[index].key}`, payload, spec.max_attempts));
    const turn = pace();
    if (turn) await turn;
  }
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

export async function planGenerateRun(deps: GenerateDeps, input: PlanInput<GenerateSpec>) {
  // A turn first: parsing and validating a 10 MB body just held the loop, planning comes after.
  await nextTurn();
  checkGenerateSpec(input.spec, deps.providers);
  if (input.spec.task === 'knowledge') return planKnowledge(deps, input);
  if (input.spec.topics_id !== undefined || input.spec.topics !== undefined) return planFromTopics(deps, input);
  const pace = pacer();
  const chunks = await loadChunks(deps, input.owner, input.spec, pace);
  const rejectedId = input.spec.topic ? newId('ds') : undefined;
  if (input.spec.strategy?.type === 'random') return planSampled(deps, input, chunks, rejectedId, pace);
  const planned = await planGenerate(input.spec, chunks, { rejectedDatasetId: rejectedId }, pace);
  if (planned.tasks.length === 0) {
    const field = input.spec.lancedb ? 'lancedb' : input.spec.dataset_id ? 'dataset_id' : 'documents';
    throw new AppError('validation_failed', `${field}: the source produced no chunks to generate from`, [{ field, message: 'no non-empty chunks' }]);
  }
  const task = input.spec.task ?? ('qa' as const);
  // The chunks live in the tasks; the run keeps what the request was, not a second copy of the text.
  const documents = input.spec.documents && (await documentSummaries(input.spec.documents, pace));
  const spec = { task, ...input.spec, ...(documents ? { documents } : {}) };
  const origin = input.spec.documents?.[0].name ?? (input.spec.lancedb ? input.spec.lancedb.tables.join('+') : `dataset ${input.spec.dataset_id}`);
  return {
    kind: 'generate',
    spec,
    // The documents by their hashes: hashing 10 MB of text once is enough.
    requestHash: hashOf({ ...input.spec, ...(documents ? { documents } : {}) }),
    tasks: planned.tasks,
    dataset: { name: input.spec.dataset_name ?? `${task} from ${origin}`, meta: { kind: task, source_run_kind: 'generate' } },
    extraDatasets: rejectedId ? [{ id: rejectedId, name: `${task} from ${origin} (off topic, rejected)`, meta: { kind: 'rejected', source_run_kind: 'generate' }, output: 'rejected_dataset_id' }] : [],
    report: planned.report,
  };
}

/**
 * Random strategy: each sample is planned like a small run of its own and writes its own dataset
 * (`output.datasets.sample_N`); keys carry the sample, so samples that share a chunk do not collide.
 */
async function planSampled(deps: GenerateDeps, input: Parameters<typeof planGenerateRun>[1], chunks: PlannedChunk[], rejectedId: string | undefined, pace: Pace) {
  const spec = input.spec;
  const strategy = spec.strategy as RandomStrategy;
  checkTaskCount(sampledChunkCount(chunks.length, strategy), 'strategy.num_samples', 'num_samples × chunks_per_sample chunks, one task each: take fewer or smaller samples');
  const samples = await drawSamples(chunks, strategy, pace);
  const ids = samples.map(() => newId('ds'));
  const task = spec.task ?? 'qa';
  let bytes = 0;
  for (const sample of samples) for (const c of sample) bytes += c.chunk.content.length;
  checkPlanBytes(bytes, 'strategy.num_samples', 'take fewer or smaller samples');
  const tasks: NewTask[] = [];
  for (const [s, sample] of samples.entries()) {
    tasks.push(...(await planGenerate(spec, sample, { rejectedDatasetId: rejectedId, datasetId: ids[s], keyPrefix: `sample${s + 1}/` }, pace)).tasks);
  }
  const documents = spec.documents && (await documentSummaries(spec.documents, pace));
  const name = spec.dataset_name ?? `${task} sample`;
  return {
    kind: 'generate',
    spec: { task, ...spec, ...(documents ? { documents } : {}) },
    requestHash: hashOf({ ...spec, ...(documents ? { documents } : {}) }),
    tasks,
    dataset: { id: ids[0], name: `${name} 1`, meta: { kind: task, source_run_kind: 'generate', sample: 1 } },
    extraDatasets: [
      ...ids.slice(1).map((id, s) => ({ id, name: `${name} ${s + 2}`, meta: { kind: task, source_run_kind: 'generate', sample: s + 2 } })),
      ...(rejectedId ? [{ id: rejectedId, name: `${name} (off topic, rejected)`, meta: { kind: 'rejected' }, output: 'rejected_dataset_id' }] : []),
    ],
    output: { datasets: Object.fromEntries(ids.map((id, s) => [`sample_${s + 1}`, id])) },
    report: { chunks: chunks.length, seed: strategy.seed ?? 42, ...samplesReport(samples, ids) },
  };
}

/** Chunk ids listed in a random strategy's report at most; a bigger run lists counts (each task key names its chunk). */
const REPORTED_CHUNK_IDS = 10_000;

function samplesReport(samples: PlannedChunk[][], ids: string[]) {
  const listed = samples.reduce((sum, sample) => sum + sample.length, 0) <= REPORTED_CHUNK_IDS;
  return {
    samples: samples.map((sample, s) => ({ sample: s + 1, dataset_id: ids[s], ...(listed ? { chunk_ids: sample.map((c) => c.chunk.chunk_id) } : { chunks: sample.length }) })),
    ...(listed ? {} : { note: `chunk ids are listed for at most ${REPORTED_CHUNK_IDS.toLocaleString('en-US')} sampled chunks; each task key names its sample and chunk` }),
  };
}
