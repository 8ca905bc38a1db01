import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { GenerateSpec } from '../services/generate/generate.spec.js';
import { startGenerate, type GenerateDeps } from '../services/generate/generate.service.js';
import { waitForRun } from '../services/runs/runs.service.js';
import { preferWait, sendRun } from './job-reply.js';
import { JobHeaders, RunEnvelope, errors } from './schemas.js';

export function generateRoutes(deps: GenerateDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/generate',
      {
        schema: {
          operationId: 'createGenerateRun',
          tags: ['jobs'],
          summary: 'Generate QA pairs from markdown documents (instruction backtranslation)',
          description:
            'Splits each document on H1–H3 headers (long sections cut at paragraph or sentence breaks with overlap), ' +
            'asks the teacher for question–answer pairs grounded in each chunk, and writes them to a new dataset. ' +
            'Answers 202 with the queued run; `Prefer: wait=N` holds the request until the run ends.',
          headers: JobHeaders,
          body: GenerateSpec,
          response: { 200: RunEnvelope, 202: RunEnvelope, ...errors(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const { run, created } = await startGenerate(deps, {
          owner: request.owner,
          spec: request.body,
          idempotencyKey: request.headers['idempotency-key'],
        });
        request.log.info({ runId: run.id, created, tasks: run.progress.total }, 'generate run queued');
        const wait = preferWait(request);
        return sendRun(reply, wait > 0 ? await waitForRun(deps, request.owner, run.id, wait) : run, wait);
      },
    );
  };
}
