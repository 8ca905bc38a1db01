import type { PromptTemplate } from '../../src/prompts.js';
import type { ProviderRegistry } from '../../src/llm/providers.js';
import type { RunsDeps } from '../runs/runs.service.js';
import type { GenerateSpec } from '../generate/generate.spec.js';
import type { StoredPipelineSpec, ToolsStageSpec } from '../pipelines/pipeline.spec.js';
import type { RunPlan } from '../runs/runs.service.js';

/**
 * Everything a job may use. Each service and handler declares the part it touches
 * (`Pick<JobDeps, 'database' | 'providers'>`), so a reader sees at once what it depends on.
 */
export interface JobDeps extends RunsDeps {
  providers: ProviderRegistry;
  /** Directories LanceDB sources may be read from (LANCEDB_ROOTS). */
  lancedbRoots: string[];
  /** Base URLs `http` and `mcp` tool execution may call (TOOLS_HTTP_ALLOW); empty = both modes refused. */
  toolsHttpAllow: string[];
  /** How long one real tool call may take (TOOLS_HTTP_TIMEOUT_MS). */
  toolsHttpTimeoutMs: number;
}

/** What the worker's task handlers may use: the job's dependencies, the prompts, and the pipeline stages. */
export interface HandlerDeps extends JobDeps {
  prompts: Map<string, PromptTemplate>;
  /** Every job kind that runs as a pipeline stage, by stage name (derived from the registry). */
  stages: Record<string, StageStarter>;
}

/** What a planner is given: who asks, and the request. Who queues the plan adds the Idempotency-Key or the parent pipeline. */
export interface PlanInput<Spec> {
  owner: string;
  spec: Spec;
}

/** What a pipeline knows when it starts a stage: its own spec, and what the stage before produced. */
export interface StageInput {
  owner: string;
  /** The pipeline's spec (each stage reads its own section). */
  pipeline: StoredPipelineSpec;
  /** The dataset the stage reads: the previous stage's, or the pipeline's `dataset_id`. */
  inputDatasetId?: string;
  /** The previous stage run's output (a topics stage's `topics_id`). */
  previous?: { dataset_id?: string; topics_id?: string };
  /** The records each earlier stage wrote (its dataset, by stage name; the pipeline's `dataset_id` as `input`), for a stage that compares them. */
  earlier?: Array<{ stage: string; dataset_id: string }>;
  /** Stage 0's full generate spec: the stored pipeline spec keeps document names, not text. */
  carried?: GenerateSpec;
  /** Stage 0's full tools spec: the stored pipeline spec keeps header names, not values. */
  carriedTools?: ToolsStageSpec;
}

export type StageStarter = (deps: JobDeps, input: StageInput) => Promise<RunPlan>;
