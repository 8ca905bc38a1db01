import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { compareDecideTask } from './compare.decide.js';
import { compareEstimates } from './compare.estimate.js';
import { planCompare } from './compare.service.js';
import { CompareSpec } from './compare.spec.js';
import { planCompareStage } from './compare.stage.js';
import { compareJudgeTask, compareMetricsTask } from './compare.task.js';

/** Which of 2–10 datasets is better: per-dataset metrics, a judge of a seeded sample of each, and a decision. */
export const compareJob: JobModule = {
  runKind: 'compare',
  endpoint: endpoint({
    path: '/v1/compare',
    operationId: 'createCompareRun',
    summary: 'Compare 2–10 datasets and pick the better one (metrics, a judge, a decision)',
    description:
      'Per dataset: count; question and answer length statistics (characters: mean, median, p10, p90, min, max; the question and answer of ' +
      'QA/CoT records, the first user and last assistant turn of chats); curate ratings when records carry `curation.rating`; distinct ' +
      'sources, from the fields records carry (`source`, `source_file`, `metadata.source_file`, `metadata.source`, knowledge flows\' ' +
      '`raw_document`; the report names the fields used, null when none); question-type diversity (distinct first words, the top 10); the ' +
      'near-duplicate rate (exact and MinHash, as curate\'s dedup); topic coverage when records carry `topic_path`; semantic diversity (mean ' +
      'cosine distance to the nearest neighbour, by `embedding`; the lexical fallback says so). A judge scores a seeded random sample of ' +
      '`sample_size` records of each dataset 1–10 and names strengths and weaknesses; a decision call that sees the metrics and the scores ' +
      'names the winner (one of the labels), its reasoning and alternatives (merge, hybrid, filter). If that call fails, the highest mean ' +
      'score wins (`decided_by: "fallback"`); with `judge: false` the metrics decide (most figures won). The run writes no dataset: the ' +
      'report is in `output.report`, in the `compare.completed` event and, as markdown for a CI log, at GET /v1/runs/{id}/report?format=markdown.',
    body: CompareSpec,
    examples: {
      'application/json': {
        compare: {
          summary: 'Compare two datasets with a judge over 10 records of each',
          value: { dataset_ids: ['ds_000000000000000000000001', 'ds_000000000000000000000002'], labels: ['v1', 'v2'], sample_size: 10, seed: 7 },
        },
      },
    },
    plan: (deps, input) => planCompare(deps, input),
  }),
  tasks: [compareMetricsTask, compareJudgeTask, compareDecideTask],
  estimates: compareEstimates,
  stage: { name: 'compare', plan: planCompareStage },
};
