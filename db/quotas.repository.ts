import { sql } from 'drizzle-orm';
import { rows, type Executor, type Tx } from './client.js';

/** The owner already has `max` runs queued or running. */
export class RunQuotaExceeded extends Error {
  constructor(
    readonly inFlight: number,
    readonly max: number,
  ) {
    super(`${inFlight} runs in flight (limit ${max})`);
    this.name = 'RunQuotaExceeded';
  }
}

/** An owner's runs that are queued or running; a pipeline counts once (its stage runs have a parent). */
export async function runsInFlight(ex: Executor, owner: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    ex,
    sql`select count(*)::int as n from runs where owner = ${owner} and parent_run_id is null and status in ('queued', 'running')`,
  );
  return row.n;
}

/**
 * Admits one more run for the owner, inside the transaction that inserts it. A transaction-scoped
 * advisory lock per owner (the single-key form, a lock space apart from the idempotency locks)
 * serialises admissions of one owner across every API process: two requests cannot both count 99
 * of 100 and both insert. Other owners never wait on it.
 */
export async function admitRun(tx: Tx, owner: string, max: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`quarry.runs_in_flight:${owner}`}, 0))`);
  const n = await runsInFlight(tx, owner);
  if (n >= max) throw new RunQuotaExceeded(n, max);
}
