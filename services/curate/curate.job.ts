import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { curateEstimates } from './curate.estimate.js';
import { curateReport, semanticReport } from './curate.report.js';
import { CurateSpec } from './curate.spec.js';
import { planCurate } from './curate.service.js';
import { curateJudgeTask, curatePassTask } from './curate.task.js';
import { curateSemanticTask, curateStageTask } from './semantic.task.js';
import { curateToolBalanceTask, curateToolJudgeTask } from './tool-curate.task.js';
import { isToolCurate, toolCurateReport } from './tool-curate.report.js';

/** LLM-as-judge filtering and deduplication: duplicates decided at plan time, survivors judged in batches. */
export const curateJob: JobModule = {
  runKind: 'curate',
  endpoint: endpoint({
    path: '/v1/curate',
    operationId: 'createCurateRun',
    summary: 'Judge, filter and deduplicate a dataset (LLM-as-judge)',
    description:
      'Scores QA, CoT and conversation records (detected) on clarity 0–3, accuracy 0–3, usefulness 0–2 and difficulty 0–2; the rating is ' +
      'their sum (0–10). Records rated at least `threshold` (and topic-relevant, with `topic`) go to the output dataset with their ' +
      '`curation` scores; the others, and duplicates found by `dedup` (exact by normalised text, near by MinHash/LSH on the question), ' +
      'go to `output.rejected_dataset_id` with a `rejection` reason. `dedup.semantic` (e.g. 0.92) then drops paraphrases by embedding cosine similarity ' +
      '(SemDeDup; `embedding` picks the model, the lexical fallback without one), keeping the better-rated record, before any judging; rejections name the kept record ' +
      '(`semantic_duplicate`, `duplicate_of`). The run report gives counts in → kept, duplicates by kind, the rating histogram and rejections by reason. ' +
      'Tool-use records (messages with tool calls, e.g. from `/v1/tools/generate`) go through Generator\'s `tool-curate` gates instead: failed `verification`, ' +
      'the optional `turn_filter` (every step rated 0–1), the rubric tool_selection 0–3 + parameter_correctness 0–3 + reasoning_quality 0–2 + result_usefulness 0–2, ' +
      'exact/near dedup of instructions, and the `difficulty_mix` balance; the report adds rejections by gate, difficulties before/after and per-tool coverage against `min_per_tool`.',
    body: CurateSpec,
    examples: {
      'application/json': {
        judge: {
          summary: 'Judge inline pairs, keep those rated 6 or more, drop duplicates',
          value: {
            threshold: 6,
            dedup: { exact: true, near: 0.85 },
            records: [
              { question: 'What is a task lease?', answer: 'A time-limited claim on a task: while it holds, no other worker can take the task.' },
              { question: 'What is a task lease?', answer: 'A time-limited claim on a task: while it holds, no other worker can take the task.' },
              { question: 'Why do workers heartbeat?', answer: 'To extend their lease while a task takes longer than the lease.' },
            ],
          },
        },
        semantic: {
          summary: 'Drop paraphrases by embedding similarity before judging (SemDeDup)',
          value: {
            threshold: 6,
            dedup: { exact: true, semantic: 0.9 },
            records: [
              { question: 'How do workers claim tasks from the queue?', answer: 'Workers claim tasks with FOR UPDATE SKIP LOCKED, so no two workers take the same task.' },
              { question: 'From the queue, how are tasks claimed by the workers?', answer: 'With FOR UPDATE SKIP LOCKED the workers claim tasks, so the same task is never taken by two workers.' },
              { question: 'Why do workers heartbeat?', answer: 'To extend their lease while a task takes longer than the lease.' },
            ],
          },
        },
      },
    },
    plan: (deps, input) => planCurate(deps, input),
  }),
  tasks: [curateJudgeTask, curatePassTask, curateToolJudgeTask, curateToolBalanceTask, curateStageTask, curateSemanticTask],
  estimates: curateEstimates,
  report: async (deps, run) => ({
    ...(await curateReport(deps.database, run.output as { dataset_id?: string; rejected_dataset_id?: string })),
    ...semanticReport(run.output),
    ...(isToolCurate(run.output) ? await toolCurateReport(deps.database, run.output) : {}),
  }),
  stage: {
    name: 'curate',
    plan: (deps, stage) =>
      planCurate(deps, { owner: stage.owner, spec: { ...stage.pipeline.curate, dataset_id: stage.inputDatasetId } }),
  },
};
