import type { Executor } from '../db/client.js';
import { findDataset } from '../db/datasets.repository.js';
import { AppError } from '../src/errors.js';

/**
 * Every size a caller can choose, in one table, checked before any work (a 400 naming the field).
 * The README's "Limits" table lists the same values.
 */
export const LIMITS = {
  /**
   * Tasks one run may plan. A task is one teacher call (or one batch); 100,000 plan in seconds
   * (bench/planning.bench.ts) and take hours at real teacher latencies, which is as big as a run
   * should get before it is better split into several (a retry or a report then stays cheap).
   */
  tasksPerRun: 100_000,
  /**
   * Bytes of task payloads one run may plan (each task carries its own copy of its chunk or topic
   * path and of the shared prompts): what the queue stores and what planning serialises.
   */
  planBytes: 256 * 2 ** 20,
  /** `num_samples` as an integer; "N%" at most this percentage of the unique topics. */
  numSamples: 100_000,
  samplePercent: 10_000,
  /** Characters of `max_chunk_size` at least: smaller pieces are not passages a teacher can write from. */
  minMaxChunkSize: 100,
  /** Records an enrich or curate run reads from a dataset. */
  datasetRecords: 200_000,
  /** Chunks a source may split into (markdown, LanceDB, datasets), before max_chunks picks from them. */
  sourceChunks: 200_000,
  /** Root → leaf paths a built tree or graph may have (degree^depth). */
  topicLeaves: 100_000,
  /** Imported tree or graph files: topics in all, graph links in all, topics on one root → node path, characters of one topic. */
  importNodes: 100_000,
  importEdges: 1_000_000,
  importPathLength: 50,
  topicChars: 1_000,
  /** Imported graph `metadata`, kept beside the topics: serialised size. */
  importMetadataBytes: 16 * 1024,
  /** GET /v1/topics/{id}: paths listed per response (`paths_limit`) and topic characters they may hold. */
  pathsDefault: 1_000,
  pathsMax: 100_000,
  pathsChars: 32 * 2 ** 20,
  /**
   * DeepFabric YAML configs: bytes, lexer tokens (what parsing time grows with; a typical config
   * has about 200), and aliases resolved (the billion-laughs guard).
   */
  yamlBytes: 64 * 1024,
  yamlTokens: 5_000,
  yamlAliases: 100,
  /** Tools one tool set (POST /v1/tools, a job's inline `tools`) may hold: far more than a model is offered at once. */
  toolsPerSet: 1_000,
  /** Serialised size of one tool definition document (JSON, or OpenAPI YAML text). */
  toolDefinitionBytes: 4 * 2 ** 20,
  /**
   * YAML tokens of a definition sent as YAML text: YAML parses about 100 times slower than JSON
   * (4 MiB took 4–10 s), so YAML is bounded by what its parse costs. 250,000 tokens is about 1 MB
   * of a typical OpenAPI document and parses in about half a second.
   */
  toolYamlTokens: 250_000,
  /**
   * JSON nodes of one set's schemas once OpenAPI `$ref`s are inlined: a few refs used many times
   * over can expand a small document exponentially (the billion-laughs shape, with refs).
   */
  toolSchemaNodes: 500_000,
  /** POST /v1/tools/generate: `per_tool` and `min_per_tool` at most, steps of a chain at most, `seed_examples` at most. */
  toolExamplesPerTool: 1_000,
  toolMaxSteps: 10,
  toolSeedExamples: 10,
  /** Curate's turn filter: steps of one tool-use example it rates (each step is an item of a judge call). */
  curateToolSteps: 20,
  /**
   * Floats of embeddings held at once by one vector computation (records × dimensions, Float32):
   * 512 Mi floats is 2 GiB, e.g. 1,000,000 records × 384 dims is 384 Mi. Past it a set is refused
   * before anything is allocated (services/vectors).
   */
  vectorFloats: 512 * 1024 * 1024,
  /**
   * Records a select or compare run, or a semantic dedup, reads from one dataset: the finishing step holds
   * one Float32 vector per record (LIMITS.vectorFloats bounds records × dimensions) and a few numbers,
   * never the records themselves, so a million fit in a worker's memory.
   */
  selectRecords: 1_000_000,
} as const;

const fmt = (n: number) => n.toLocaleString('en-US');

export const tooLarge = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/** A run of `tasks` tasks is refused, naming the field that made it that big, before anything is written. */
export function checkTaskCount(tasks: number, field: string, hint: string): void {
  if (tasks > LIMITS.tasksPerRun) throw tooLarge(field, `the run would have ${fmt(tasks)} tasks; at most ${fmt(LIMITS.tasksPerRun)} per run (${hint})`);
}

/** `bytes` of planned payloads is refused, naming the field that multiplies them. */
export function checkPlanBytes(bytes: number, field: string, hint: string): void {
  if (bytes > LIMITS.planBytes) {
    throw tooLarge(field, `the run would plan ${fmt(Math.ceil(bytes / 2 ** 20))} MiB of task payloads; at most ${fmt(LIMITS.planBytes / 2 ** 20)} MiB per run (${hint})`);
  }
}

/** Serialised size of a value that every task of a run copies (the shared settings of its payloads). */
export const sharedBytes = (value: unknown) => JSON.stringify(value ?? null).length;

/** A dataset input with more than `max` records is refused, naming `field`, rather than read in part. */
export async function checkDatasetSize(db: Executor, owner: string, datasetId: string | undefined, max: number, field = 'dataset_id'): Promise<void> {
  if (!datasetId) return;
  const dataset = await findDataset(db, datasetId, owner);
  if (dataset && dataset.recordCount > max) throw tooLarge(field, `the dataset has ${fmt(dataset.recordCount)} records; at most ${fmt(max)} per run`);
}
