import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { recordCounts } from '../../db/select.repository.js';
import type { JobDeps } from '../jobs/job-deps.js';
import type { RunRow } from '../../db/runs.repository.js';

const SelectOutput = Type.Object({
  dataset_id: Type.String(),
  unselected_dataset_id: Type.String(),
  selection: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/**
 * A select run's report beyond the planner's (records in, strategy, scoring, embedding): records
 * written so far to the selected and unselected datasets, and, once the finisher has run, its
 * selection — counts, k and cluster sizes or threshold skips, score statistics and the embedding
 * method (the lexical fallback with the reason it was used).
 */
export async function selectReport(deps: Pick<JobDeps, 'database'>, run: RunRow): Promise<Record<string, unknown>> {
  const output = run.output;
  if (!Value.Check(SelectOutput, output)) return {};
  const counts = await recordCounts(deps.database.db, [output.dataset_id, output.unselected_dataset_id]);
  return {
    selected: counts.get(output.dataset_id) ?? 0,
    unselected: counts.get(output.unselected_dataset_id) ?? 0,
    ...(output.selection ? { selection: output.selection } : {}),
  };
}
