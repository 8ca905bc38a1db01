import { startRun } from '../runs/runs.service.js';
import { budgetOf } from './budget.js';
import { withoutDryRun } from './dry-run.js';
import { foldRequestCache } from './job-cache.js';
import type { JobDeps } from './job-deps.js';
import type { JobEndpoint } from './job-module.js';

/** A job request, whole: plan it with its module's planner, then queue the plan as a run (idempotently). */
export async function startJob(
  deps: JobDeps,
  endpoint: JobEndpoint,
  input: { owner: string; spec: unknown; query: unknown; idempotencyKey?: string },
) {
  // `"dry_run": false` queues the run like a request without the flag (and is not part of its spec).
  const plan = await endpoint.plan(deps, { ...input, spec: foldRequestCache(withoutDryRun(input.spec).spec) });
  return startRun(deps, { ...plan, owner: input.owner, idempotencyKey: input.idempotencyKey, maxCostUsd: budgetOf(input.spec) });
}
