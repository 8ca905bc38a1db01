import { sql } from 'drizzle-orm';
import type { BatchItemStore, BatchItemView, NewBatchItem } from '../src/llm/batch.js';
import type { FailureCategory } from '../src/llm/llm.errors.js';
import type { TeacherResponse } from '../src/llm/teacher-request.js';
import { rows, type Db, type Executor } from './client.js';

interface ItemRow {
  state: string;
  response: TeacherResponse | null;
  error: { category: FailureCategory; message: string } | null;
  charged: boolean;
}

/**
 * The batch middleware's view of the batch_items table (src/llm/batch.ts). A done item's tokens are
 * charged to its first read only (`charged_at`): a task deferred again after reading it, or retried,
 * reads it again, and the provider answered it once. Items outlive their run for a while (db/batch-runs.repository.ts),
 * so an identical run with `cache: "use"` reads their answers; with any other cache mode it asks again.
 */
export function batchItemStore(db: Db): BatchItemStore {
  return {
    async find(owner, key, asker): Promise<BatchItemView | undefined> {
      await db.execute(
        sql`update batch_items i set state = 'pending', response = null, error = null, batch_id = null, charged_at = null,
                   submissions = 0, run_id = ${asker.runId}, task_id = ${asker.taskId}, created_at = now()
             where owner = ${owner} and key = ${key} and run_id <> ${asker.runId} and (state in ('pending', 'failed') or (${asker.fresh} and state = 'done'))
               and not exists (select 1 from runs r where r.id = i.run_id and r.status in ('queued', 'running'))`,
      );
      const [row] = await rows<ItemRow>(
        db,
        sql`with first as (
              update batch_items set charged_at = now()
               where owner = ${owner} and key = ${key} and state = 'done' and charged_at is null
           returning id)
            select state, response, error, exists (select 1 from first) as charged
              from batch_items where owner = ${owner} and key = ${key}`,
      );
      if (!row) return undefined;
      if (row.state === 'done' && row.response) {
        return { state: 'done', response: row.response, firstRead: row.charged };
      }
      if (row.state === 'failed' && row.error) return { state: 'failed', error: row.error };
      return { state: row.state === 'submitted' ? 'submitted' : 'pending' };
    },
    async enqueue(item: NewBatchItem) {
      await db.execute(
        sql`insert into batch_items (owner, key, run_id, task_id, provider, model, request)
            values (${item.owner}, ${item.key}, ${item.runId}, ${item.taskId}, ${item.provider}, ${item.model}, ${JSON.stringify(item.request)}::json)
            on conflict (owner, key) do nothing`,
      );
    },
    async takeFailure(owner, key) {
      const [row] = await rows<{ error: { category: FailureCategory; message: string } }>(
        db,
        sql`delete from batch_items where owner = ${owner} and key = ${key} and state = 'failed' returning error`,
      );
      return row?.error;
    },
  };
}

/** What a deferred task waits for: the call whose item was not answered yet. */
export interface DeferredCall {
  taskId: number;
  owner: string;
  key: string;
}

/**
 * In the commit that defers tasks: a task whose awaited item was answered meanwhile (its batch ended
 * between the task's read and this commit, so the poller's wake found the task still running) is
 * due at once instead of after its deferral.
 */
export async function dueIfAnswered(ex: Executor, deferred: DeferredCall[]): Promise<void> {
  if (deferred.length === 0) return;
  await ex.execute(
    sql`update tasks t set run_at = now()
          from unnest(${sql.param(deferred.map((d) => d.taskId))}::bigint[], ${sql.param(deferred.map((d) => d.owner))}::text[],
                      ${sql.param(deferred.map((d) => d.key))}::text[]) as d(id, owner, key)
         where t.id = d.id and t.status = 'queued' and t.run_at > now()
           and not exists (select 1 from batch_items i where i.owner = d.owner and i.key = d.key and i.state in ('pending', 'submitted'))`,
  );
}
