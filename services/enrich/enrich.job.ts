import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { enrichEstimates } from './enrich.estimate.js';
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
    examples: {
      'application/json': {
        rewrite: {
          summary: 'Rewrite the answers of inline pairs',
          value: {
            mode: 'rewrite',
            batch_size: 2,
            records: [
              { question: 'What is a task lease?', answer: 'a time limit. the worker has it while working' },
              { question: 'What happens when a worker stops heartbeating?', answer: 'lease runs out, task goes back to queue' },
            ],
          },
        },
        cot: {
          summary: 'Add reasoning steps, answers unchanged',
          value: { mode: 'cot', records: [{ question: 'Why does a worker send heartbeats?', answer: 'To extend its lease while a task takes longer than the lease.' }] },
        },
      },
    },
    plan: (deps, input) => planEnrich(deps, input),
  }),
  tasks: [enrichTask],
  estimates: enrichEstimates,
  stage: {
    name: 'enrich',
    plan: (deps, stage) =>
      planEnrich(deps, { owner: stage.owner, spec: { ...stage.pipeline.enrich, dataset_id: stage.inputDatasetId } }),
  },
};
