import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { selectExamples } from './select.examples.js';
import { selectEstimates } from './select.estimate.js';
import { selectReport } from './select.report.js';
import { selectScoreTask } from './select-score.task.js';
import { beginTask, finishTask, writeTask } from './select-finish.task.js';
import { planSelect } from './select.service.js';
import { SelectSpec } from './select.spec.js';

/** Data selection: DEITA multi-scores and score-first diverse selection, TOUCAN coverage, or the top k. */
export const selectJob: JobModule = {
  runKind: 'select',
  endpoint: endpoint({
    path: '/v1/select',
    operationId: 'createSelectRun',
    summary: 'Select the best diverse subset of a dataset (DEITA, TOUCAN coverage, top k)',
    description:
      'Selects `target` records into a new dataset; the rest go to `output.unselected_dataset_id`, each with why (`selection.reason`). ' +
      '`deita` and `top_k` score every record (`multi_score`): complexity 0–10 and quality (mean of clarity, accuracy, usefulness, 0–10) by the teacher in ' +
      'labelled batches, or by the heuristic with `judge: false`; diversity = min(10, 10 × cosine distance to the nearest other record of the whole dataset), ' +
      'so it does not depend on input order; combined = the weighted sum (`weights`, default complexity 0.3, quality 0.5, diversity 0.2, normalised). ' +
      '`deita` takes records by combined score, skipping one whose cosine similarity to an already selected record is above `threshold`; `top_k` takes the best by ' +
      '`score_by`; `min_score` keeps records with a lower combined score out. `coverage` clusters the embeddings with k-means, k = max(2, min(n, round(2√target))), and ' +
      'picks from every cluster (`centroid`: a proportional quota nearest each centre; `diverse`: round-robin, farthest from those taken), no teacher; every record gets ' +
      '`coverage: {cluster_id, k, strategy}`. Embeddings come from the `embedding` model (stored once per text and model) or the lexical fallback, which the report names. ' +
      'Every algorithm runs in canonical order (by text hash), so the same records in any order select the same.',
    body: SelectSpec,
    examples: { 'application/json': selectExamples },
    plan: (deps, input) => planSelect(deps, input),
  }),
  tasks: [selectScoreTask, beginTask, finishTask, writeTask],
  estimates: selectEstimates,
  report: selectReport,
  stage: {
    name: 'select',
    plan: (deps, stage) => planSelect(deps, { owner: stage.owner, spec: { ...stage.pipeline.select!, dataset_id: stage.inputDatasetId } }),
  },
};
