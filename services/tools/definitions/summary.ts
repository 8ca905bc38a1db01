import type { Complexity, Tool } from '../tool.js';
import type { ToolSummary } from '../tool-set.js';

/** Warnings listed in a summary; a definition with thousands of small faults says how many more. */
export const MAX_WARNINGS = 200;

/** Generator's `tool-parse` report: total, counts by category and by complexity, warnings. */
export function summarize(tools: Tool[], warnings: string[]): ToolSummary {
  const byCategory: Record<string, number> = {};
  const byComplexity: Record<Complexity, number> = { simple: 0, medium: 0, complex: 0 };
  for (const tool of tools) {
    byCategory[tool.category] = (byCategory[tool.category] ?? 0) + 1;
    byComplexity[tool.complexity] += 1;
  }
  const listed = warnings.length > MAX_WARNINGS ? [...warnings.slice(0, MAX_WARNINGS), `… and ${warnings.length - MAX_WARNINGS} more warnings`] : warnings;
  return { total: tools.length, by_category: byCategory, by_complexity: byComplexity, warnings: listed };
}
