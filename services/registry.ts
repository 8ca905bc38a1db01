import type { CommitHooks } from '../db/run-hooks.js';
import type { RunRow } from '../db/runs.repository.js';
import type { TaskHandlers } from '../src/queue/task-handler.js';
import { compareJob } from './compare/compare.job.js';
import { curateJob } from './curate/curate.job.js';
import { embeddingsModule } from './embeddings/embeddings.job.js';
import { enrichJob } from './enrich/enrich.job.js';
import { exportJob } from './export-job/export-job.job.js';
import { generateJob } from './generate/generate.job.js';
import type { HandlerDeps, JobDeps } from './jobs/job-deps.js';
import type { StageStarter } from './jobs/job-deps.js';
import type { JobEndpoint, JobModule, TaskEstimator } from './jobs/job-module.js';
import { knowledgeJob } from './knowledge/knowledge.job.js';
import { pipelineJob } from './pipelines/pipeline.job.js';
import { rejectedReport } from './runs/runs.service.js';
import { selectJob } from './select/select.job.js';
import { topicsJob } from './topics/topics.job.js';
import { toolsGenerateJob } from './tools/generate/tools-generate.job.js';

/**
 * Every job kind Quarry runs, one module each (services/README.md says how to add one). Routes,
 * the worker's handler table, run reports and pipeline stages are derived from this list only.
 */
export const JOB_MODULES: readonly JobModule[] = [topicsJob, generateJob, knowledgeJob, enrichJob, curateJob, selectJob, toolsGenerateJob, pipelineJob, embeddingsModule, compareJob, exportJob];

/** The job endpoints, in the order the contract lists them. */
export const jobEndpoints = (): JobEndpoint[] => JOB_MODULES.flatMap((m) => (m.endpoint ? [m.endpoint] : []));

/** Every module's teacher-call estimates by task kind, for dry runs (a pipeline's stages are other modules' tasks). */
export const taskEstimators = (): Record<string, TaskEstimator> => Object.assign({}, ...JOB_MODULES.map((m) => m.estimates ?? {}));

/** The pipeline stages by name; a stage a pipeline names must have a module here. */
export const pipelineStages = (): Record<string, StageStarter> => Object.fromEntries(JOB_MODULES.flatMap((m) => (m.stage ? [[m.stage.name, m.stage.plan]] : [])));

/** The worker's handler table: every task kind of every module, bound to the worker's dependencies. */
export function taskHandlers(deps: Omit<HandlerDeps, 'stages'>): TaskHandlers {
  const bound: HandlerDeps = { ...deps, stages: pipelineStages() };
  const handlers: TaskHandlers = {};
  for (const task of JOB_MODULES.flatMap((m) => m.tasks)) {
    if (handlers[task.kind]) throw new Error(`task kind ${task.kind} is declared by two job modules`);
    handlers[task.kind] = task.bind(bound);
  }
  return handlers;
}

/** Every module's queue hooks as one: each hears every run end; the first retry rule that answers wins. */
export const commitHooks: CommitHooks = {
  async runEnded(tx, run, outcome) {
    for (const m of JOB_MODULES) await m.hooks?.runEnded?.(tx, run, outcome);
  },
  async retryRun(db, run, requeue) {
    for (const m of JOB_MODULES) {
      const result = await m.hooks?.retryRun?.(db, run, requeue);
      if (result) return result;
    }
    return undefined;
  },
};

const byRunKind = new Map(JOB_MODULES.flatMap((m) => (m.runKind ? [[m.runKind, m] as const] : [])));

/** A run's report fields, from the module of its kind (rejections by reason for kinds without their own). */
export function runReport(deps: Pick<JobDeps, 'database'>, run: RunRow): Promise<Record<string, unknown>> {
  return (byRunKind.get(run.kind)?.report ?? rejectedReport)(deps, run);
}
