import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CurateSpec } from '../services/curate/curate.spec.js';
import { startCurate } from '../services/curate/curate.service.js';
import type { GenerateDeps } from '../services/generate/generate.service.js';
import { waitForRun } from '../services/runs/runs.service.js';
import { preferWait, sendRun } from './job-reply.js';
import { JobHeaders, RunEnvelope, errors } from './schemas.js';

export function curateRoutes(deps: GenerateDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/curate',
      {
        schema: {
          operationId: 'createCurateRun',
          tags: ['jobs'],
          summary: 'Judge, filter and deduplicate a dataset (LLM-as-judge)',
          description:
            'Scores QA, CoT and conversation records (detected) on clarity 0–3, accuracy 0–3, usefulness 0–2 and difficulty 0–2; the rating is ' +
            'their sum (0–10). Records rated at least `threshold` (and topic-relevant, with `topic`) go to the output dataset with their ' +
            '`curation` scores; the others, and duplicates found by `dedup` (exact by normalised text, near by MinHash/LSH on the question), ' +
            'go to `output.rejected_dataset_id` with a `rejection` reason. The run report gives counts in → kept, the rating histogram and rejections by reason.',
          headers: JobHeaders,
          body: CurateSpec,
          response: { 200: RunEnvelope, 202: RunEnvelope, ...errors(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const { run } = await startCurate(deps, { owner: request.owner, spec: request.body, idempotencyKey: request.headers['idempotency-key'] });
        const wait = preferWait(request);
        return sendRun(reply, wait > 0 ? await waitForRun(deps, request.owner, run.id, wait) : run, wait);
      },
    );
  };
}
