import { getTableColumns, sql } from 'drizzle-orm';
import { rows, type Executor, type Tx } from './client.js';
import { datasets, runs } from './schema/index.js';

// A run's counters and a dataset's record count are their row's value plus what each writer added
// in its own row (run_counters, dataset_counts; see counters.table.ts). A run's usage also adds its
// stage runs' (a pipeline spends through its stages), so it is their sum while they run and after.
// Every read goes through here.

export const RUN_COUNTERS = ['total', 'done', 'failed', 'records', 'requests', 'input_tokens', 'output_tokens', 'cost_usd', 'cache_hits'] as const;
export type RunCounter = (typeof RUN_COUNTERS)[number];
export type RunCounts = Record<RunCounter, number>;

const USAGE: ReadonlySet<RunCounter> = new Set(['requests', 'input_tokens', 'output_tokens', 'cost_usd', 'cache_hits']);

/**
 * `runs.<column>` plus every writer's delta, as a column of any query that reads `runs`; for usage,
 * plus the same of each stage run (found by the runs_parent index; none for a run that is no pipeline).
 */
const summed = (column: RunCounter) => {
  const c = sql.raw(column);
  const own = sql`${sql.raw(`runs.${column}`)} + coalesce((select sum(w.${c}) from run_counters w where w.run_id = runs.id), 0)`;
  if (!USAGE.has(column)) return sql`(${own})::float8`.mapWith(Number);
  const stages = sql`coalesce((select sum(s.${c} + coalesce((select sum(sw.${c}) from run_counters sw where sw.run_id = s.id), 0)) from runs s where s.parent_run_id = runs.id), 0)`;
  return sql`(${own} + ${stages})::float8`.mapWith(Number);
};

/** `select(runFields).from(runs)`: a run row with its counters summed. */
export const runFields = {
  ...getTableColumns(runs),
  total: summed('total'),
  done: summed('done'),
  failed: summed('failed'),
  records: summed('records'),
  requests: summed('requests'),
  inputTokens: summed('input_tokens'),
  outputTokens: summed('output_tokens'),
  costUsd: summed('cost_usd'),
  cacheHits: summed('cache_hits'),
};

/** `select(datasetFields).from(datasets)`: a dataset row with its record count summed. */
export const datasetFields = {
  ...getTableColumns(datasets),
  recordCount: sql`(datasets.record_count + coalesce((select sum(c.n) from dataset_counts c where c.dataset_id = datasets.id), 0))::float8`.mapWith(Number),
};

/** A run's counters, summed, and when it started; undefined if there is no such run. */
export async function runCounts(ex: Executor, runId: string): Promise<(RunCounts & { started_at: Date | null }) | undefined> {
  const [row] = await rows<Record<RunCounter, number | string> & { started_at: Date | null }>(
    ex,
    sql`select ${sql.join(RUN_COUNTERS.map((c) => sql`${summed(c)} as ${sql.raw(c)}`), sql`, `)}, runs.started_at from runs where runs.id = ${runId}`,
  );
  return row && { ...numbers(row), started_at: row.started_at };
}

/**
 * Adds `delta` to the writer's row of the run's counters, and returns the run's counters as they
 * are with it (as this transaction sees the other writers), and whether any of its tasks is still
 * queued. The writer's row is only ever updated by its own committer: no commit waits for another.
 */
export async function addRunCounts(tx: Tx, runId: string, writer: string, delta: RunCounts): Promise<RunCounts & { started_at: Date | null; queued: boolean }> {
  const values = RUN_COUNTERS.map((c) => sql`${delta[c]}`);
  const [row] = await rows<Record<RunCounter, number | string> & { started_at: Date | null; queued: boolean }>(
    tx,
    sql`with added as (
          insert into run_counters (run_id, writer, ${sql.raw(RUN_COUNTERS.join(', '))})
          values (${runId}, ${writer}, ${sql.join(values, sql`, `)})
          on conflict (run_id, writer) do update set ${sql.raw(RUN_COUNTERS.map((c) => `${c} = run_counters.${c} + excluded.${c}`).join(', '))}
        )
        select ${sql.join(RUN_COUNTERS.map((c, i) => sql`${summed(c)} + ${values[i]} as ${sql.raw(c)}`), sql`, `)}, runs.started_at,
               exists (select 1 from tasks t where t.run_id = runs.id and t.status = 'queued') as queued
          from runs where runs.id = ${runId}`,
  );
  return { ...numbers(row), started_at: row.started_at, queued: row.queued };
}

function numbers(row: Record<RunCounter, number | string>): RunCounts {
  return Object.fromEntries(RUN_COUNTERS.map((c) => [c, Number(row[c])])) as RunCounts;
}
