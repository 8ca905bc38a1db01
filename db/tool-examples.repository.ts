import { sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';

/**
 * Counts over a tool-use run's kept and rejected examples (POST /v1/tools/generate), for its run
 * report: grouped in SQL so a 100,000-example run is never read into memory. `tools_used` is the
 * record's list of tools called; a rejected record says the stage that failed in `rejected_stage`.
 */
export async function toolExampleCounts(ex: Executor, keptId: string, rejectedId: string) {
  const groups = await rows<{ kept: boolean; mode: string | null; difficulty: string | null; stage: string | null; n: number }>(
    ex,
    sql`select dataset_id = ${keptId} as kept, data->>'mode' as mode, data->>'difficulty' as difficulty, data->>'rejected_stage' as stage, count(*)::int as n
          from records where dataset_id in (${keptId}, ${rejectedId}) group by 1, 2, 3, 4`,
  );
  const perTool = await rows<{ kept: boolean; tool: string; n: number }>(
    ex,
    sql`select r.dataset_id = ${keptId} as kept, t.tool, count(*)::int as n
          from records r cross join lateral json_array_elements_text(case when json_typeof(r.data->'tools_used') = 'array' then r.data->'tools_used' else '[]'::json end) as t(tool)
         where r.dataset_id in (${keptId}, ${rejectedId}) group by 1, 2`,
  );
  return { groups, perTool };
}
