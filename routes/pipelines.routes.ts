import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { GenerateDeps } from '../services/generate/generate.service.js';
import { PipelineSpec } from '../services/pipelines/pipeline.spec.js';
import { startPipeline } from '../services/pipelines/pipeline.service.js';
import { waitForRun } from '../services/runs/runs.service.js';
import { preferWait, sendRun } from './job-reply.js';
import { JobHeaders, RunEnvelope, errors } from './schemas.js';

export function pipelinesRoutes(deps: GenerateDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/pipelines',
      {
        schema: {
          operationId: 'createPipelineRun',
          tags: ['jobs'],
          summary: 'Run generate → enrich → curate → export as one staged run',
          description:
            'Each stage (any may be skipped) runs as a run of its own with its own options, llm and dataset, and starts when the one before ' +
            'succeeds. The pipeline streams stage.started / stage.completed (rows out) and stage.failed; GET /v1/runs/{id} lists the stages ' +
            'with rows in → out. The final dataset and its export (in export.format) are in the run links. A failed or canceled stage leaves ' +
            'earlier datasets intact; POST /v1/runs/{id}/retry resumes from the failed tasks of the stage that stopped.',
          headers: JobHeaders,
          body: PipelineSpec,
          response: { 200: RunEnvelope, 202: RunEnvelope, ...errors(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const { run } = await startPipeline(deps, { owner: request.owner, spec: request.body, idempotencyKey: request.headers['idempotency-key'] });
        const wait = preferWait(request);
        return sendRun(reply, wait > 0 ? await waitForRun(deps, request.owner, run.id, wait) : run, wait);
      },
    );
  };
}
