import { sql } from 'drizzle-orm';
import request from 'supertest';
import { rows } from '../../db/client.js';
import { markdownDoc, type Harness } from './harness.js';

/** A generate job of `sections` chunks (one teacher call each), with the teacher's cache off so every run asks. */
export const generateSpec = (provider: string, mode: 'online' | 'batch', sections = 4) => ({
  documents: [markdownDoc('batch.md', sections)],
  n_pairs: 2,
  llm: { provider, mode, cache: 'off' },
});

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/** Polls the run until it ends (the test's own timeout bounds the wait). */
export async function finishedRun(h: Harness, runId: string): Promise<any> {
  for (;;) {
    const res = await request(h.url).get(`/v1/runs/${runId}`).expect(200);
    if (TERMINAL.has(res.body.run.status)) return res.body.run;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls a query until `ok` holds for its first row. */
export async function until<T>(h: Harness, query: ReturnType<typeof sql>, ok: (row: T) => boolean): Promise<T> {
  for (;;) {
    const [row] = await rows<T>(h.quarry.database.db, query);
    if (row && ok(row)) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A dataset's records, by key, as stored. */
export async function recordsByKey(h: Harness, datasetId: string): Promise<Record<string, unknown>> {
  const page = await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=500`).expect(200);
  return Object.fromEntries(page.body.records.map((r: any) => [r.key, r.data]));
}

/**
 * How the run's calls were batched: its batches (rows), and its calls that went into more than one
 * batch. A batch submitted twice shows as one more provider batch than rows, or as such calls.
 */
export async function batchingOf(h: Harness, runId: string): Promise<{ batches: number; resubmitted: number }> {
  const [row] = await rows<{ batches: number; resubmitted: number }>(
    h.quarry.database.db,
    sql`select (select count(*)::int from batches b where exists (select 1 from batch_items i where i.batch_id = b.id and i.run_id = ${runId})) as batches,
               (select count(*)::int from batch_items where run_id = ${runId} and submissions > 1) as resubmitted`,
  );
  return row;
}
