import { startRun } from '../runs/runs.service.js';
import type { JobDeps } from './job-deps.js';
import type { JobEndpoint } from './job-module.js';

/** A job request, whole: plan it with its module's planner, then queue the plan as a run (idempotently). */
export async function startJob(
  deps: JobDeps,
  endpoint: JobEndpoint,
  input: { owner: string; spec: unknown; query: unknown; idempotencyKey?: string },
) {
  const plan = await endpoint.plan(deps, input);
  return startRun(deps, { ...plan, owner: input.owner, idempotencyKey: input.idempotencyKey });
}
