import type { RunRow } from '../../db/runs.repository.js';
import { progressOf } from '../../db/progress.js';

/** The public shape of a run (the `Run` schema of the contract). */
export function runView(row: RunRow, extra: { report?: Record<string, unknown> } = {}) {
  const output = row.output as { dataset_id?: string; rejected_dataset_id?: string; topics_id?: string; export?: { format: string; system_prompt?: string }; report?: Record<string, unknown> };
  const exportQuery = new URLSearchParams({ format: output.export?.format ?? 'chatml', ...(output.export?.system_prompt ? { system_prompt: output.export.system_prompt } : {}) });
  const self = `/v1/runs/${row.id}`;
  const status = row.status as 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
  // A topics run's dataset holds the nodes of its tree or graph, which no training format renders: links.topics downloads them.
  const exportable = row.kind !== 'topics';
  return {
    id: row.id,
    kind: row.kind,
    status,
    spec: row.spec,
    progress: progressOf({
      total: row.total,
      done: row.done,
      failed: row.failed,
      records: row.records,
      input_tokens: row.inputTokens,
      output_tokens: row.outputTokens,
      cost_usd: row.costUsd,
      cache_hits: row.cacheHits,
      started_at: row.startedAt,
      ended: TERMINAL_STATUSES.has(status),
      through_stages: row.kind === 'pipeline',
      batch_expected_completion: batchExpectedCompletion(row.output),
    }),
    max_cost_usd: row.maxCostUsd,
    usage: { requests: row.requests, input_tokens: row.inputTokens, output_tokens: row.outputTokens, cost_usd: row.costUsd, cache_hits: row.cacheHits },
    output: { ...output, ...(extra.report ? { report: { ...output.report, ...extra.report } } : {}) },
    error: (row.error as { category: string; message: string } | null) ?? undefined,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString(),
    finished_at: row.finishedAt?.toISOString(),
    links: {
      self,
      events: `${self}/events`,
      ws: `${self}/ws`,
      ...(output.dataset_id ? { dataset: `/v1/datasets/${output.dataset_id}` } : {}),
      ...(output.dataset_id && exportable ? { export: `/v1/datasets/${output.dataset_id}/export?${exportQuery}` } : {}),
      ...(output.rejected_dataset_id ? { rejected: `/v1/datasets/${output.rejected_dataset_id}` } : {}),
      ...(output.topics_id ? { topics: `/v1/topics/${output.topics_id}` } : {}),
      ...(row.kind === 'export' ? { files: `/v1/exports/${row.id}`, archive: `/v1/exports/${row.id}/archive` } : {}),
    },
  };
}

export type RunView = ReturnType<typeof runView>;
export const TERMINAL_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

/** output.batch.expected_completion, written by the batch loop for a batch-mode run. */
function batchExpectedCompletion(output: unknown): string | null {
  if (typeof output !== 'object' || output === null || !('batch' in output)) return null;
  const batch = output.batch;
  if (typeof batch !== 'object' || batch === null || !('expected_completion' in batch)) return null;
  return typeof batch.expected_completion === 'string' ? batch.expected_completion : null;
}
