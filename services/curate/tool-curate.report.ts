import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Database } from '../../db/client.js';
import { toolCurationCounts } from '../../db/tool-curate.repository.js';
import { DIFFICULTIES } from '../tools/tool-example.js';

/** What a tool curate run's planner put in its report (tool-curate.ts) and the output the report reads. */
export const ToolCurateOutput = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  report: Type.Object({ tool_use: Type.Literal(true), min_per_tool: Type.Integer(), tools: Type.Array(Type.String()) }),
});
export type ToolCurateOutput = Static<typeof ToolCurateOutput>;

export const isToolCurate = (output: unknown): output is ToolCurateOutput => Value.Check(ToolCurateOutput, output);

/**
 * The tool-use part of a curate report: rejections by gate, kept per difficulty, and per-tool
 * coverage: examples kept per tool (every tool the input offered or called) against `min_per_tool`,
 * with a warning per tool below it (Generator's coverage warning).
 */
export async function toolCurateReport(database: Database, output: ToolCurateOutput) {
  const { groups, perTool } = await toolCurationCounts(database.db, output.dataset_id, output.rejected_dataset_id);
  const rejectedByGate: Record<string, number> = {};
  const after: Record<string, number> = Object.fromEntries([...DIFFICULTIES, 'unknown'].map((d) => [d, 0]));
  for (const g of groups) {
    if (g.kept) after[DIFFICULTIES.find((d) => d === g.difficulty) ?? 'unknown'] += g.n;
    else rejectedByGate[g.gate ?? 'unknown'] = (rejectedByGate[g.gate ?? 'unknown'] ?? 0) + g.n;
  }
  const kept = new Map(perTool.map((t) => [t.tool, t.n]));
  const tools = [...new Set([...output.report.tools, ...kept.keys()])].sort();
  const min = output.report.min_per_tool;
  const below = tools.filter((t) => (kept.get(t) ?? 0) < min);
  return {
    rejected_by_gate: rejectedByGate,
    difficulty_out: after,
    coverage: {
      min_per_tool: min,
      per_tool: Object.fromEntries(tools.map((t) => [t, kept.get(t) ?? 0])),
      below_min: below,
      warnings: below.map((t) => `${t}: ${kept.get(t) ?? 0} kept examples, fewer than min_per_tool ${min}`),
    },
  };
}
