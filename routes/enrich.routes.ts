import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EnrichSpec } from '../services/enrich/enrich.spec.js';
import { startEnrich } from '../services/enrich/enrich.service.js';
import type { GenerateDeps } from '../services/generate/generate.service.js';
import { waitForRun } from '../services/runs/runs.service.js';
import { preferWait, sendRun } from './job-reply.js';
import { JobHeaders, RunEnvelope, errors } from './schemas.js';

export function enrichRoutes(deps: GenerateDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/enrich',
      {
        schema: {
          operationId: 'createEnrichRun',
          tags: ['jobs'],
          summary: 'Enrich question–answer pairs: rewrite answers, or add chain-of-thought reasoning',
          description:
            'mode "rewrite" rewrites answers to be clearer and better structured while keeping every fact, command and number; records gain ' +
            '`enrichment_changes` and keep the old answer as `original_answer` (unless preserve_original is false). mode "cot" adds 2–5 ' +
            '`reasoning` steps and leaves the answer unchanged. Pairs go to the teacher in batches of batch_size; the output is a new dataset.',
          headers: JobHeaders,
          body: EnrichSpec,
          response: { 200: RunEnvelope, 202: RunEnvelope, ...errors(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const { run } = await startEnrich(deps, { owner: request.owner, spec: request.body, idempotencyKey: request.headers['idempotency-key'] });
        const wait = preferWait(request);
        return sendRun(reply, wait > 0 ? await waitForRun(deps, request.owner, run.id, wait) : run, wait);
      },
    );
  };
}
