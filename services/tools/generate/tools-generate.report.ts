import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Database } from '../../../db/client.js';
import type { RunRow } from '../../../db/runs.repository.js';
import { toolExampleCounts } from '../../../db/tool-examples.repository.js';

/** What the planner left in the run's output that the report reads back (jsonb: checked, not cast). */
const ToolsRunOutput = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  report: Type.Optional(
    Type.Object({
      min_per_tool: Type.Optional(Type.Integer()),
      planned_per_tool: Type.Optional(Type.Record(Type.String(), Type.Number())),
      warnings: Type.Optional(Type.Array(Type.String())),
    }),
  ),
});

interface Split {
  kept: number;
  rejected: number;
}
const add = (into: Record<string, Split>, key: string, kept: boolean, n: number) => {
  const entry = (into[key] ??= { kept: 0, rejected: 0 });
  if (kept) entry.kept += n;
  else entry.rejected += n;
};

/**
 * A tool-use run's report, from what it has written so far: examples kept and rejected, by mode,
 * by difficulty and by tool; rejections by the verification stage that failed; and coverage
 * against `min_per_tool`, naming every tool below it with the reason (planned too few — the
 * planner's warnings say why — or its examples were rejected).
 */
export async function toolsGenerateReport(database: Database, run: RunRow): Promise<Record<string, unknown>> {
  if (!Value.Check(ToolsRunOutput, run.output)) return {};
  const output = run.output;
  const { groups, perTool } = await toolExampleCounts(database.db, output.dataset_id, output.rejected_dataset_id);
  const byMode: Record<string, Split> = {};
  const byDifficulty: Record<string, Split> = {};
  const byStage: Record<string, number> = { format: 0, execution: 0, semantic: 0 };
  let kept = 0;
  let rejected = 0;
  for (const g of groups) {
    if (g.kept) kept += g.n;
    else rejected += g.n;
    add(byMode, g.mode ?? 'unknown', g.kept, g.n);
    add(byDifficulty, g.difficulty ?? 'unknown', g.kept, g.n);
    if (!g.kept) byStage[g.stage ?? 'unknown'] = (byStage[g.stage ?? 'unknown'] ?? 0) + g.n;
  }
  const planned = output.report?.planned_per_tool ?? {};
  const tools: Record<string, Split & { planned?: number }> = Object.fromEntries(Object.entries(planned).map(([tool, n]) => [tool, { planned: n, kept: 0, rejected: 0 }]));
  for (const t of perTool) add(tools, t.tool, t.kept, t.n);
  const min = output.report?.min_per_tool ?? 0;
  const below = Object.entries(tools)
    .filter(([, t]) => t.kept < min)
    .map(([tool, t]) => ({
      tool,
      kept: t.kept,
      planned: t.planned ?? 0,
      rejected: t.rejected,
      why:
        (t.planned ?? 0) < min
          ? `planned in only ${t.planned ?? 0} examples (see warnings)`
          : t.rejected > 0
            ? `${t.rejected} of its examples were rejected by verification`
            : 'its examples are not all made yet, or their tasks failed (see failures)',
    }));
  return {
    kept,
    rejected,
    by_mode: byMode,
    by_difficulty: byDifficulty,
    rejected_by_stage: byStage,
    per_tool: tools,
    coverage: { min_per_tool: min, reached: below.length === 0, below, warnings: output.report?.warnings ?? [] },
  };
}
