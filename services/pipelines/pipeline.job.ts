import { Type } from '@sinclair/typebox';
import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { deepfabricExamples, pipelineExamples } from './pipeline.examples.js';
import { pipelineHooks } from './pipeline.hooks.js';
import { previewPipeline } from './pipeline.preview.js';
import { pipelineReport } from './pipeline.report.js';
import { DeepFabricOverridesQuery, planDeepFabric } from './deepfabric.plan.js';
import { planPipeline } from './pipeline.service.js';
import { PipelineSpec } from './pipeline.spec.js';
import { advanceTask } from './pipeline.task.js';

const DeepFabricYaml = Type.String({ minLength: 1, description: 'A DeepFabric config (v3 or v4 layout); also taken as application/x-yaml or text/yaml' });

/** Stages as runs of their own, chained by advance tasks; each stage is another module's `stage`. */
export const pipelineJob: JobModule = {
  runKind: 'pipeline',
  endpoint: endpoint({
    path: '/v1/pipelines',
    operationId: 'createPipelineRun',
    summary: 'Run generate (or tools) → enrich → curate → export as one staged run',
    description:
      'Each stage (any may be skipped) runs as a run of its own with its own options, llm and dataset, and starts when the one before ' +
      'succeeds. The pipeline streams stage.started / stage.completed (rows out) and stage.failed; GET /v1/runs/{id} lists the stages ' +
      'with rows in → out. The final dataset and its export (in export.format) are in the run links. A failed or canceled stage leaves ' +
      'earlier datasets intact; POST /v1/runs/{id}/retry resumes from the failed tasks of the stage that stopped. ' +
      'A `tools` stage (the POST /v1/tools/generate spec) makes verified tool-use examples instead of generate, written for the topic paths of a ' +
      'topics stage before it when there is one; curate then applies its tool-use gates. ' +
      'A DeepFabric config (Content-Type application/yaml, v3 or v4 layout) runs as a topics → generate (→ export) pipeline, or topics → tools ' +
      'when it declares tools (builtin VFS tools run on Quarry\'s in-memory VFS; Spin-hosted definitions need `tools_id`); the ' +
      '`deepfabric generate` overrides go in the query string.',
    body: Type.Union([PipelineSpec, DeepFabricYaml]),
    media: { 'application/json': PipelineSpec, 'application/yaml': DeepFabricYaml },
    examples: { 'application/json': pipelineExamples, 'application/yaml': deepfabricExamples },
    querystring: DeepFabricOverridesQuery,
    plan: (deps, { spec, query, ...input }) =>
      typeof spec === 'string' ? planDeepFabric(deps, { ...input, yaml: spec, overrides: query }) : planPipeline(deps, { ...input, spec, overrides: query }),
  }),
  tasks: [advanceTask],
  preview: previewPipeline,
  hooks: pipelineHooks,
  report: (deps, run) => pipelineReport(deps.database, run.id),
};
