import { compareMarkdown, type CompareReport } from '../compare/compare.markdown.js';
import { getRun, type RunsDeps } from './runs.service.js';
import type { RunView } from './run-view.js';

/** Renders a run's report as markdown: each kind that has its own view, the others as their report in a JSON block. */
const MARKDOWN: Record<string, (run: RunView, report: Record<string, unknown>) => string> = {
  compare: (run, report) => compareMarkdown(run, report as CompareReport),
};

function genericMarkdown(run: RunView, report: Record<string, unknown>): string {
  const p = run.progress;
  return [
    `# Run ${run.id} (${run.kind})`,
    '',
    `Status: **${run.status}**; tasks ${p.done} done, ${p.failed} failed of ${p.total}; ${p.records} records; cost $${p.cost_usd}.`,
    '',
    '## Report',
    '',
    '```json',
    JSON.stringify(report, null, 2),
    '```',
    '',
  ].join('\n');
}

/**
 * A run's report on its own (GET /v1/runs/{id}/report): JSON as in the run's output, or markdown
 * that reads well in a CI log (a compare run: the decision, a metrics table, the scores).
 */
export async function runReportDocument(deps: Pick<RunsDeps, 'database' | 'reportOf'>, owner: string, id: string, format: 'json' | 'markdown') {
  const run = await getRun(deps, owner, id);
  const report = run.output.report ?? {};
  if (format === 'json') return { contentType: 'application/json', body: { run_id: run.id, kind: run.kind, status: run.status, report } };
  return { contentType: 'text/markdown; charset=utf-8', body: (MARKDOWN[run.kind] ?? genericMarkdown)(run, report) };
}
