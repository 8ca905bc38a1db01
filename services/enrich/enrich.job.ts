import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { EnrichSpec } from './enrich.spec.js';
import { planEnrich } from './enrich.service.js';
import { enrichTask } from './enrich.task.js';

/** Rewrites answers or adds chain-of-thought, a batch of pairs per task. */
export const enrichJob: JobModule = {
  runKind: 'enrich',
  endpoint: endpoint({
    path: '/v1/enrich',
    operationId: 'createEnrichRun',
    summary: 'Enrich question–answer pairs: rewrite answers, or add chain-of-thought reasoning',
    description:
      'mode "rewrite" rewrites answers to be clearer and better structured while keeping every fact, command and number; records gain ' +
      '`enrichment_changes` and keep the old answer as `original_answer` (unless preserve_original is false). mode "cot" adds 2–5 ' +
      '`reasoning` steps and leaves the answer unchanged. Pairs go to the teacher in batches of batch_size; the output is a new dataset.',
    body: EnrichSpec,
    plan: (deps, input) => planEnrich(deps, input),
  }),
  tasks: [enrichTask],
  stage: {
    name: 'enrich',
    plan: (deps, stage) =>
      planEnrich(deps, { owner: stage.owner, spec: { ...stage.pipeline.enrich, dataset_id: stage.inputDatasetId } }),
  },
};
