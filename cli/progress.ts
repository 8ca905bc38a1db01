import type { paths } from './api.js';

export type Run = paths['/v1/runs/{id}']['get']['responses'][200]['content']['application/json']['run'];

/** A pipeline stage as GET /v1/runs/{id}/report lists it (the report is free-form in the contract). */
export interface StageLine {
  stage: string;
  status: string;
  rows_out: number;
  records_per_second: number;
  cost_usd: number;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

const money = (usd: number) => `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
const eta = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? '-' : seconds < 90 ? `${Math.round(seconds)}s` : `${Math.round(seconds / 60)}m`);

/** One line per run: what a person or a CI log needs to see at a glance. */
export function runLine(run: Run, failures: ReadonlyMap<string, number> = new Map()): string {
  const p = run.progress;
  const parts = [
    `${run.id} ${run.kind} ${run.status}`,
    `tasks ${p.done}/${p.total}`,
    `records ${p.records}`,
    `${p.records_per_second.toFixed(1)} rec/s`,
    `ETA ${eta(p.eta_seconds)}`,
    `cost ${money(p.cost_usd)}`,
    `failed ${p.failed}${failures.size ? ` (${[...failures].map(([category, n]) => `${category} ${n}`).join(', ')})` : ''}`,
  ];
  if (run.error) parts.push(`error ${run.error.category}: ${run.error.message}`);
  return parts.join(' | ');
}

const BAR_WIDTH = 20;

/** A terminal's progress bar of the tasks finished: `[#######.............]  35%`. */
export function progressBar(run: Run): string {
  const { done, failed, total } = run.progress;
  const share = total > 0 ? Math.min(1, (done + failed) / total) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
}

export function stageLine(s: StageLine): string {
  return `  stage ${s.stage} ${s.status} | records ${s.rows_out} | ${s.records_per_second.toFixed(1)} rec/s | cost ${money(s.cost_usd)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The stages of a pipeline report, read defensively: the report's schema is open. */
export function stagesOf(report: unknown): StageLine[] {
  if (!isObject(report) || !Array.isArray(report.stages)) return [];
  return report.stages.filter(isObject).map((s) => ({
    stage: String(s.kind ?? s.stage),
    status: String(s.status),
    rows_out: Number(s.rows_out ?? 0),
    records_per_second: Number(s.records_per_second ?? 0),
    cost_usd: isObject(s.usage) ? Number(s.usage.cost_usd ?? 0) : 0,
  }));
}
