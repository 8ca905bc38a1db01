import type { Static, TSchema } from '@sinclair/typebox';
import type { CommitHooks } from '../../db/run-hooks.js';
import type { RunRow } from '../../db/runs.repository.js';
import type { RunPlan } from '../runs/runs.service.js';
import type { JobDeps, StageStarter, PlanInput } from './job-deps.js';
import type { TaskDef } from './task-kind.js';

/** The endpoint that queues this job's runs. */
export interface JobEndpoint<S extends TSchema = TSchema, Q extends TSchema = TSchema> {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  body: S;
  /** Media types the body may come in, for the contract (JSON by default). */
  consumes?: string[];
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
}

/** Keeps an endpoint's body type tied to its start function while the registry holds them all alike. */
export function endpoint<S extends TSchema, Q extends TSchema = TSchema>(e: JobEndpoint<S, Q>): JobEndpoint<TSchema, TSchema> {
  return e;
}
