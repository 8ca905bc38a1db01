import type { Database } from '../../db/client.js';
import { rejectionSummary } from '../../db/datasets.repository.js';
import { cancelRun, findRun, insertRun, listRuns, retryRun, taskSummary, type NewTask, type RunRow } from '../../db/runs.repository.js';
import type { EventHub } from '../../src/events/event-hub.js';
import { AppError, invalid, notFound } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import type { CommitHooks } from '../../db/run-hooks.js';
import { TERMINAL_STATUSES, runView, type RunView } from './run-view.js';
import { rethrowOverQuota } from './run-quota.js';

export interface RunsDeps {
  database: Database;
  hub: EventHub;
  /** Runs one owner may have queued or running at once (MAX_RUNS_IN_FLIGHT_PER_KEY); unset or 0 = no limit. */
  maxRunsInFlight?: number;
  /** A run's report fields by its kind (services/registry.ts derives it from the job modules); rejections only when unset. */
  reportOf?: RunReporter;
  /** The job modules' queue hooks (a canceled or retried pipeline stage); none when unset. */
  hooks?: CommitHooks;
}

/** Extra fields of a run's report, read from what it has written so far. */
export type RunReporter = (deps: Pick<RunsDeps, 'database'>, run: RunRow) => Promise<Record<string, unknown>>;

export interface StartRun {
  owner: string;
  kind: string;
  spec: unknown;
  idempotencyKey?: string;
  /** Identifies the request for Idempotency-Key checks; defaults to a hash of kind + spec. */
  requestHash?: string;
  tasks: NewTask[];
  /** The run's own dataset; `id` when the caller must know it before the run exists (to put in payloads). */
  dataset?: { id?: string; name: string; meta?: Record<string, unknown> };
  /** Most tasks of the run in flight at once. */
  maxConcurrency?: number;
  /** Most the run may cost, USD (`max_cost_usd`). */
  maxCostUsd?: number;
  /** A topics run: the topics resource its dataset's records form. */
  topics?: { id: string; mode: string; meta: Record<string, unknown> };
  /** Extra fields of the run's output (e.g. knowledge's datasets per flow). */
  output?: Record<string, unknown>;
  /** A pipeline's stage run: the pipeline and the stage index. */
  parent?: { runId: string; stage: number };
  /** Tasks in all when more are queued later (a pipeline's advances). */
  total?: number;
  /** More datasets the run writes into, with ids the caller chose (e.g. curate's rejected set), named in `output`. */
  extraDatasets?: Array<{ id: string; name: string; meta?: Record<string, unknown>; output?: string }>;
  report?: Record<string, unknown>;
}

/** What a job's planner hands back: the run to create, without who asked or under which key (the caller adds those). */
export type RunPlan = Omit<StartRun, 'owner' | 'idempotencyKey' | 'parent'>;

export async function startRun(deps: RunsDeps, input: StartRun): Promise<{ run: RunView; created: boolean }> {
  const id = newId('run');
  const datasetId = input.dataset ? (input.dataset.id ?? newId('ds')) : undefined;
  const requestHash = input.requestHash ?? hashOf({ kind: input.kind, spec: input.spec });
  const { row, created } = await insertRun(deps.database.db, {
    id,
    owner: input.owner,
    kind: input.kind,
    spec: input.spec,
    idempotencyKey: input.idempotencyKey,
    requestHash,
    parent: input.parent,
    total: input.total,
    topics: input.topics,
    maxConcurrency: input.maxConcurrency,
    maxCostUsd: input.maxCostUsd,
    output: {
      ...(datasetId ? { dataset_id: datasetId } : {}),
      ...Object.fromEntries((input.extraDatasets ?? []).filter((d) => d.output).map((d) => [d.output, d.id])),
      ...input.output,
      ...(input.report ? { report: input.report } : {}),
    },
    datasets: [...(datasetId ? [{ id: datasetId, name: input.dataset!.name, meta: input.dataset!.meta }] : []), ...(input.extraDatasets ?? [])],
    // Handlers write into the run's dataset unless the planner chose another of the run's datasets
    // (filled in as the tasks are inserted, a slice at a time, not by copying 100,000 payloads here).
    tasks: input.tasks,
    taskDatasetId: datasetId,
    // A pipeline's stage runs are part of the pipeline, which was admitted already.
    maxInFlight: input.parent ? undefined : deps.maxRunsInFlight,
  }).catch(rethrowOverQuota);
  if (!created && row.requestHash !== requestHash) {
    throw new AppError('conflict', 'Idempotency-Key was already used for a different request', [
      { field: 'Idempotency-Key', message: `already used by run ${row.id} with another body` },
    ]);
  }
  return { run: runView(row), created };
}

export async function getRun(deps: Pick<RunsDeps, 'database' | 'reportOf'>, owner: string, id: string): Promise<RunView> {
  const row = await findRun(deps.database.db, id, owner);
  if (!row) throw notFound('run', id);
  const summary = await taskSummary(deps.database.db, id);
  const extra = await (deps.reportOf ?? rejectedReport)(deps, row);
  return runView(row, { report: { ...extra, tasks: summary.counts, ...(summary.failures.length ? { failures: summary.failures } : {}) } });
}

export async function requireRun(deps: Pick<RunsDeps, 'database'>, owner: string, id: string) {
  const row = await findRun(deps.database.db, id, owner);
  if (!row) throw notFound('run', id);
  return row;
}

export async function listRunViews(deps: Pick<RunsDeps, 'database'>, owner: string, query: { limit?: number; before?: string; status?: string; kind?: string }) {
  const limit = query.limit ?? 50;
  const rows = await listRuns(deps.database.db, owner, { limit: limit + 1, before: query.before, status: query.status, kind: query.kind });
  const page = rows.slice(0, limit);
  return { runs: page.map((r) => runView(r)), next_before: rows.length > limit ? page[page.length - 1].id : null };
}

export async function cancel(deps: Pick<RunsDeps, 'database' | 'reportOf' | 'hooks'>, owner: string, id: string): Promise<RunView> {
  const row = await requireRun(deps, owner, id);
  if (TERMINAL_STATUSES.has(row.status)) throw new AppError('conflict', `run ${id} already ended (${row.status})`, [{ field: 'id', message: `status is ${row.status}` }]);
  await cancelRun(deps.database.db, id, deps.hooks);
  return getRun(deps, owner, id);
}

export async function retry(
  deps: Pick<RunsDeps, 'database' | 'maxRunsInFlight' | 'reportOf' | 'hooks'>,
  owner: string,
  id: string,
  options: { max_cost_usd?: number } = {},
): Promise<RunView> {
  const row = await requireRun(deps, owner, id);
  checkRetryBudget(row, options.max_cost_usd);
  const result = await retryRun(deps.database.db, id, deps.maxRunsInFlight, deps.hooks, options.max_cost_usd).catch(rethrowOverQuota);
  if ('requeued' in result) return getRun(deps, owner, id);
  if (result.refused === 'status') throw new AppError('conflict', `run ${id} is ${result.status}; only failed or canceled runs can be retried`, [{ field: 'id', message: `status is ${result.status}` }]);
  if (result.refused === 'nothing') throw new AppError('conflict', `run ${id} has no failed tasks to retry`, [{ field: 'id', message: 'nothing to retry' }]);
  const of = result.runId === id ? '' : ` of stage run ${result.runId}`;
  const names = result.datasets.map((d) => `${d.id} (${d.output}${of})`).join(', ');
  throw new AppError('conflict', `run ${id} cannot be retried: dataset ${names}, which it writes, was deleted; start a new run instead`,
    result.datasets.map((d) => ({ field: d.output, message: `dataset ${d.id}${of} was deleted`, dataset_id: d.id })));
}

/**
 * A run that stopped at its budget resumes only with a higher one (it would stop again at once);
 * any new budget must be above what the run has spent.
 */
function checkRetryBudget(row: RunRow, budget: number | undefined): void {
  const error = row.error;
  const stoppedAt = typeof error === 'object' && error !== null && 'category' in error && error.category === 'budget_exceeded';
  const spent = Math.round(row.costUsd * 1e6) / 1e6;
  if (stoppedAt && budget === undefined) {
    throw invalid('max_cost_usd', `run ${row.id} stopped at its budget (spent $${spent}); retry it with a higher max_cost_usd`);
  }
  if (budget === undefined) return;
  if (budget <= row.costUsd) throw invalid('max_cost_usd', `must be above what run ${row.id} has spent ($${spent})`);
  if (stoppedAt && row.maxCostUsd !== null && budget <= row.maxCostUsd) throw invalid('max_cost_usd', `must be above the budget the run stopped at ($${row.maxCostUsd})`);
}

/** How many records a run dropped, by reason, with examples of why (the records stay in the rejected set); the default report. */
export async function rejectedReport(deps: Pick<RunsDeps, 'database'>, run: RunRow): Promise<Record<string, unknown>> {
  const { rejected_dataset_id: datasetId } = run.output as { rejected_dataset_id?: string };
  if (!datasetId) return {};
  const { byReason, examples } = await rejectionSummary(deps.database.db, datasetId);
  return { dropped: Object.fromEntries(byReason.map((r) => [r.reason ?? 'unknown', r.n])), dropped_examples: examples };
}

/** Resolves when the run ends or `seconds` pass, whichever is first; returns the run as it is then. */
export async function waitForRun(deps: RunsDeps, owner: string, id: string, seconds: number): Promise<RunView> {
  const row = await requireRun(deps, owner, id);
  if (!TERMINAL_STATUSES.has(row.status) && seconds > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, seconds * 1000);
      const cancel = deps.hub.waitForEnd(id, finish);
      function finish() {
        clearTimeout(timer);
        cancel();
        resolve();
      }
    });
  }
  return getRun(deps, owner, id);
}
