import type { Static, TSchema } from '@sinclair/typebox';
import type { CommitHooks } from '../../db/run-hooks.js';
import type { RunRow } from '../../db/runs.repository.js';
import type { RunPlan } from '../runs/runs.service.js';
import type { JobDeps, StageStarter, PlanInput } from './job-deps.js';
import type { TaskDef } from './task-kind.js';

/** A request body as the contract shows it (Swagger UI's "Try it out" sends it as it is). */
export interface RequestExample {
  summary: string;
  value: unknown;
}

/** The endpoint that queues this job's runs. */
export interface JobEndpoint<S extends TSchema = TSchema, Q extends TSchema = TSchema> {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  body: S;
  /**
   * When the body comes in more media types than JSON: each type's schema, a member of `body`. The
   * contract lists each type with its own schema, and a body is checked against its type's.
   */
  media?: Record<string, TSchema>;
  /** Request bodies the contract shows, by media type and name; tests/openapi.examples.test.ts sends each as it is. */
  examples?: Record<string, Record<string, RequestExample>>;
  querystring?: Q;
  /** The planner: checks the request and plans the run's datasets and tasks; nothing is written. */
  plan(deps: JobDeps, input: PlanInput<Static<S>> & { query: Static<Q> }): Promise<RunPlan>;
}

/**
 * One job kind, whole: its endpoint, the task kinds its runs queue, its run report and how it runs
 * as a pipeline stage. services/registry.ts lists the modules; routes, the worker's handler table,
 * run reports and pipeline stages are all derived from that list.
 */
export interface JobModule {
  /** The run kind this module's runs carry (`runs.kind`), if it starts runs of its own. */
  runKind?: string;
  endpoint?: JobEndpoint<TSchema, TSchema>;
  tasks: TaskDef[];
  /** Extra fields of GET /v1/runs/{id}'s report for this kind's runs. */
  report?(deps: Pick<JobDeps, 'database'>, run: RunRow): Promise<Record<string, unknown>>;
  /** What the queue asks this kind when one of its runs ends or is retried (a pipeline's stage rules). */
  hooks?: CommitHooks;
  /** Its name and starter as a pipeline stage, if it can be one. */
  stage?: { name: string; plan: StageStarter };
  /** What each of its task kinds costs, for a dry run (`"dry_run": true`); kinds without one make no teacher calls. */
  estimates?: Record<string, TaskEstimator>;
  /** A multi-stage kind's stages as a dry run shows them: planned now where they can be. */
  preview?(deps: JobDeps, stages: Record<string, StageStarter>, owner: string, plan: RunPlan): Promise<StagePreview[]>;
}

/** What one planned task will cost, the tasks it spawns included: teacher calls, characters sent, tokens expected back. */
export interface TaskEstimate {
  calls: number;
  inputChars: number;
  outputTokens: number;
  /** The provider called, when the payload has no `llm` naming it; `embedding`: priced at its `embedding_pricing`. */
  provider?: string;
  embedding?: boolean;
}
export type TaskEstimator = (payload: Record<string, unknown>) => TaskEstimate;

/** A stage of a multi-stage job as a dry run sees it: planned now, or only once the stage before has run. */
export interface StagePreview { stage: string; plan?: RunPlan; note?: string }

/** Keeps an endpoint's body type tied to its start function while the registry holds them all alike. */
export function endpoint<S extends TSchema, Q extends TSchema = TSchema>(e: JobEndpoint<S, Q>): JobEndpoint<TSchema, TSchema> {
  return e;
}
