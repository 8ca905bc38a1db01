import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema, type Static } from '@sinclair/typebox';
import type { JobEndpoint } from '../services/jobs/job-module.js';
import type { RunsDeps } from '../services/runs/runs.service.js';
import { waitForRun } from '../services/runs/runs.service.js';
import type { RunView } from '../services/runs/run-view.js';
import { preferencesOf, sendRun } from './job-reply.js';
import { jsonBody, mediaBody } from './request-body.js';
import type { PlanPreview } from '../services/jobs/dry-run.js';
import { PlanEnvelope } from './job-plan.js';
import { JobHeaders, RunEnvelope, errors } from './schemas.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/** A job module's endpoint (its contract), with how this route queues a request. */
export interface JobRoute<S extends TSchema, Q extends TSchema = TSchema> extends Omit<JobEndpoint<S, Q>, 'plan'> {
  start(input: { owner: string; spec: Static<S>; idempotencyKey?: string; query: Static<Q> }): Promise<{ run: RunView }>;
  /** `"dry_run": true`: the plan and its estimates, nothing queued. */
  dryRun(input: { owner: string; spec: Static<S>; query: Static<Q> }): Promise<{ plan: PlanPreview }>;
}

const isDryRun = (body: unknown) => typeof body === 'object' && body !== null && 'dry_run' in body && body.dry_run === true;

/**
 * Every job endpoint has one contract: validate the spec, queue a run, answer 202 with it — or hold
 * the request for `Prefer: wait=N` — and return the same run for a repeated Idempotency-Key.
 */
export function jobRoute<S extends TSchema, Q extends TSchema = TSchema>(deps: RunsDeps, job: JobRoute<S, Q>): FastifyPluginAsyncTypebox {
  return async (app) => {
    // YAML arrives as text for the service to translate, and only where the route says it consumes
    // it (the plugin scopes the parser): elsewhere it is a 415, not a confusing 400.
    if (job.media?.['application/yaml']) {
      app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    }
    const { body, preValidation } = job.media ? mediaBody(job.media, job.examples) : jsonBody(job.body, job.examples);
    app.post(
      job.path,
      {
        ...(preValidation ? { preValidation } : {}),
        schema: {
          operationId: job.operationId,
          tags: ['jobs'],
          summary: job.summary,
          description: `${job.description} Answers 202 with the queued run; \`Prefer: wait=N\` holds the request until the run ends (200) or N seconds pass (202).`,
          headers: JobHeaders,
          body,
          ...(job.querystring ? { querystring: job.querystring } : {}),
          response: { 200: Type.Union([RunEnvelope, PlanEnvelope], { description: 'The finished run (Prefer: wait), or with "dry_run": true the plan' }), 202: RunEnvelope, ...errors(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const prefer = preferencesOf(request);
        if (isDryRun(request.body)) {
          const answer = await job.dryRun({ owner: request.owner, spec: request.body as Static<S>, query: (request.query ?? {}) as Static<Q> });
          request.log.info({ kind: answer.plan.kind, tasks: answer.plan.tasks }, 'dry run planned');
          return reply.status(200).send(answer);
        }
        const { run } = await job.start({
          owner: request.owner,
          spec: request.body as Static<S>,
          idempotencyKey: request.headers['idempotency-key'],
          query: (request.query ?? {}) as Static<Q>,
        });
        request.log.info({ runId: run.id, kind: run.kind, tasks: run.progress.total }, 'run queued');
        return sendRun(reply, prefer.wait > 0 ? await waitForRun(deps, request.owner, run.id, prefer.wait) : run, prefer);
      },
    );
  };
}
