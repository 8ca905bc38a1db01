import type { Database } from '../../db/client.js';
import { stageRuns } from '../../db/runs.repository.js';
import { runView } from '../runs/run-view.js';

/** Each stage with rows in → out and throughput, read from the stage runs themselves. */
export async function pipelineReport(database: Database, pipelineId: string) {
  const stages = (await stageRuns(database.db, pipelineId)).map((row) => {
    const run = runView(row);
    const report = (run.output.report ?? {}) as { records_in?: number; chunks_used?: number };
    return {
      stage: row.stage,
      kind: row.kind,
      run_id: row.id,
      status: run.status,
      dataset_id: run.output.dataset_id,
      rows_in: report.records_in ?? report.chunks_used ?? null,
      rows_out: run.progress.records,
      records_per_second: run.progress.records_per_second,
      usage: run.usage,
    };
  });
  return { stages };
}
