import type { JobDeps } from '../services/jobs/job-deps.js';
import { startJob } from '../services/jobs/start-job.js';
import { jobEndpoints } from '../services/registry.js';
import { jobRoute } from './job-route.js';

/** The endpoints that queue runs: one per job module with an endpoint (services/registry.ts). */
export const jobsRoutes = (deps: JobDeps) => jobEndpoints().map((e) => jobRoute(deps, { ...e, start: (input) => startJob(deps, e, input) }));
