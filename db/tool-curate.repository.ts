import { sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';

/**
 * A tool curate run's outcome, grouped in SQL: kept and rejected by difficulty and by the gate that
 * rejected, and examples kept per tool (`curation.tools_used`, which every judged record carries).
 */
export async function toolCurationCounts(ex: Executor, keptId: string, rejectedId: string) {
  const groups = await rows<{ kept: boolean; difficulty: string | null; gate: string | null; n: number }>(
    ex,
    sql`select dataset_id = ${keptId} as kept, data->>'difficulty' as difficulty, data->'rejection'->>'gate' as gate, count(*)::int as n
          from records where dataset_id in (${keptId}, ${rejectedId}) group by 1, 2, 3`,
  );
  const perTool = await rows<{ tool: string; n: number }>(
    ex,
    sql`select t.tool, count(*)::int as n
          from records r cross join lateral json_array_elements_text(
                 case when json_typeof(r.data->'curation'->'tools_used') = 'array' then r.data->'curation'->'tools_used' else '[]'::json end) as t(tool)
         where r.dataset_id = ${keptId} group by 1`,
  );
  return { groups, perTool };
}
