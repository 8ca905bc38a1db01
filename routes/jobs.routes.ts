import type { JobDeps } from '../services/jobs/job-deps.js';
import { dryRunJob } from '../services/jobs/dry-run.js';
import { startJob } from '../services/jobs/start-job.js';
import { JOB_MODULES, pipelineStages, taskEstimators } from '../services/registry.js';
import { jobRoute } from './job-route.js';

/** The endpoints that queue runs (or, with "dry_run": true, plan them): one per job module with an endpoint (services/registry.ts). */
export function jobsRoutes(deps: JobDeps) {
  const context = { estimators: taskEstimators(), stages: pipelineStages() };
  return JOB_MODULES.flatMap((m) => {
    const e = m.endpoint;
    return e ? [jobRoute(deps, { ...e, start: (input) => startJob(deps, e, input), dryRun: (input) => dryRunJob(deps, e, m, context, input) })] : [];
  });
}
