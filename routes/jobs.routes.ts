import { CurateSpec } from '../services/curate/curate.spec.js';
import { startCurate } from '../services/curate/curate.service.js';
import { EnrichSpec } from '../services/enrich/enrich.spec.js';
import { startEnrich } from '../services/enrich/enrich.service.js';
import { startGenerate, type GenerateDeps } from '../services/generate/generate.service.js';
import { GenerateSpec } from '../services/generate/generate.spec.js';
import { PipelineSpec } from '../services/pipelines/pipeline.spec.js';
import { DeepFabricOverridesQuery, startDeepFabric, startPipeline } from '../services/pipelines/pipeline.service.js';
import { Type } from '@sinclair/typebox';
import { TopicsSpec } from '../services/topics/topics.spec.js';
import { startTopics } from '../services/topics/topics.service.js';
import { jobRoute } from './job-route.js';

/** The endpoints that queue runs, one entry each. */
export const jobsRoutes = (deps: GenerateDeps) => [
  jobRoute(deps, {
    path: '/v1/topics',
    operationId: 'createTopicsRun',
    summary: 'Build a topic tree or graph from one prompt',
    description:
      'Each node asks the teacher for `degree` subtopics (extras cut), children expanded concurrently, down to `depth`: a tree has degree^depth ' +
      'root → leaf paths. In a graph the teacher may link a new node to existing ones (it is shown the existing topics most related to the one ' +
      'it expands), giving it several parents. A node whose expansion fails after retries is reported in the run and in a record.failed event. ' +
      'The result is GET /v1/topics/{output.topics_id}.',
    body: TopicsSpec,
    start: (input) => startTopics(deps, input),
  }),
  jobRoute(deps, {
    path: '/v1/generate',
    operationId: 'createGenerateRun',
    summary: 'Generate training data from documents, LanceDB chunk tables, datasets or seed records',
    description:
      'task qa (instruction backtranslation, default), cot, conversation or knowledge. Markdown documents are split on H1–H3 headers ' +
      '(long sections cut at paragraph or sentence breaks with overlap); each chunk is an answer source for the teacher; the records go to a new dataset.',
    body: GenerateSpec,
    start: (input) => startGenerate(deps, input),
  }),
  jobRoute(deps, {
    path: '/v1/enrich',
    operationId: 'createEnrichRun',
    summary: 'Enrich question–answer pairs: rewrite answers, or add chain-of-thought reasoning',
    description:
      'mode "rewrite" rewrites answers to be clearer and better structured while keeping every fact, command and number; records gain ' +
      '`enrichment_changes` and keep the old answer as `original_answer` (unless preserve_original is false). mode "cot" adds 2–5 ' +
      '`reasoning` steps and leaves the answer unchanged. Pairs go to the teacher in batches of batch_size; the output is a new dataset.',
    body: EnrichSpec,
    start: (input) => startEnrich(deps, input),
  }),
  jobRoute(deps, {
    path: '/v1/curate',
    operationId: 'createCurateRun',
    summary: 'Judge, filter and deduplicate a dataset (LLM-as-judge)',
    description:
      'Scores QA, CoT and conversation records (detected) on clarity 0–3, accuracy 0–3, usefulness 0–2 and difficulty 0–2; the rating is ' +
      'their sum (0–10). Records rated at least `threshold` (and topic-relevant, with `topic`) go to the output dataset with their ' +
      '`curation` scores; the others, and duplicates found by `dedup` (exact by normalised text, near by MinHash/LSH on the question), ' +
      'go to `output.rejected_dataset_id` with a `rejection` reason. The run report gives counts in → kept, the rating histogram and rejections by reason.',
    body: CurateSpec,
    start: (input) => startCurate(deps, input),
  }),
  jobRoute(deps, {
    path: '/v1/pipelines',
    operationId: 'createPipelineRun',
    summary: 'Run generate → enrich → curate → export as one staged run',
    description:
      'Each stage (any may be skipped) runs as a run of its own with its own options, llm and dataset, and starts when the one before ' +
      'succeeds. The pipeline streams stage.started / stage.completed (rows out) and stage.failed; GET /v1/runs/{id} lists the stages ' +
      'with rows in → out. The final dataset and its export (in export.format) are in the run links. A failed or canceled stage leaves ' +
      'earlier datasets intact; POST /v1/runs/{id}/retry resumes from the failed tasks of the stage that stopped. ' +
      'A DeepFabric config (Content-Type application/yaml, v3 or v4 layout) runs as a topics → generate (→ export) pipeline; the ' +
      '`deepfabric generate` overrides go in the query string.',
    body: Type.Union([PipelineSpec, Type.String({ description: 'A DeepFabric config (v3 or v4 layout), sent as application/yaml' })]),
    consumes: ['application/json', 'application/yaml'],
    querystring: DeepFabricOverridesQuery,
    start: ({ spec, query, ...input }) => (typeof spec === 'string' ? startDeepFabric(deps, { ...input, yaml: spec, overrides: query }) : startPipeline(deps, { ...input, spec, overrides: query })),
  }),
];
