import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ID_PATTERN } from '../src/ids.js';
import { Type } from '@sinclair/typebox';
import { cancel, getRun, listRunViews, retry, waitForRun, type RunsDeps } from '../services/runs/runs.service.js';
import { runReportDocument } from '../services/runs/run-report.js';
import { budgetOption } from '../services/jobs/job-options.js';
import { preferencesOf } from './job-reply.js';
import { JobHeaders, Run, RunEnvelope, RunParams, errors } from './schemas.js';

const RetryBody = Type.Object(
  { max_cost_usd: Type.Optional({ ...budgetOption.max_cost_usd, description: 'The run’s new budget, USD (a pipeline’s covers its stages): above what it has spent, and above the budget it stopped at' }) },
  { additionalProperties: false, description: 'May be left out (the same as {}): the run keeps its budget' },
);

const RETRY_EXAMPLES = {
  plain: { summary: 'Re-queue what did not succeed', value: {} },
  budget: { summary: 'Resume a run stopped at its budget with a higher one', value: { max_cost_usd: 20 } },
};

export function runsRoutes(deps: RunsDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/runs',
      {
        schema: {
          operationId: 'listRuns',
          tags: ['runs'],
          summary: 'List runs, newest first',
          description:
            'The caller\'s runs (with API keys, only those its key started), pipeline stage runs included, filtered by `status` and `kind`. ' +
            'Pages hold up to `limit` runs; pass `next_before` back as `before` for the next page (null on the last).',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            before: Type.Optional(Type.String({ pattern: ID_PATTERN('run'), description: 'Cursor: next_before of the previous page (the id of its last item)' })),
            status: Type.Optional(Type.Union(['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => Type.Literal(s)))),
            kind: Type.Optional(Type.String()),
          }),
          response: { 200: Type.Object({ runs: Type.Array(Run), next_before: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
        },
      },
      async (request) => listRunViews(deps, request.owner, request.query),
    );

    app.get(
      '/v1/runs/:id',
      {
        schema: {
          operationId: 'getRun',
          tags: ['runs'],
          summary: 'Get a run: status, progress, usage, output and report',
          description: 'With `Prefer: wait=N` the answer waits up to N seconds (at most 600) for the run to end; it costs the service nothing while it waits (it hears of the end, it does not poll).',
          params: RunParams,
          headers: Type.Pick(JobHeaders, ['prefer']),
          response: { 200: RunEnvelope, ...errors(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { wait } = preferencesOf(request);
        if (wait === 0) return { run: await getRun(deps, request.owner, request.params.id) };
        reply.header('preference-applied', `wait=${wait}`);
        return { run: await waitForRun(deps, request.owner, request.params.id, wait) };
      },
    );

    app.get(
      '/v1/runs/:id/report',
      {
        schema: {
          operationId: 'getRunReport',
          tags: ['runs'],
          summary: 'A run\'s report alone, as JSON or as markdown for a CI log',
          description:
            'The report of GET /v1/runs/{id} (`output.report`) on its own. `format=markdown` renders it for a CI log or a pull request comment: ' +
            'a compare run as its decision, a metrics table, the metric and judge reasons and the judge\'s scores; other kinds as their report in a JSON block.',
          params: RunParams,
          querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('markdown')], { default: 'json' })) }),
          response: {
            200: { description: 'The report', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } }, 'text/markdown': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const doc = await runReportDocument(deps, request.owner, request.params.id, request.query.format ?? 'json');
        return reply.type(doc.contentType).send(doc.body);
      },
    );

    app.post(
      '/v1/runs/:id/cancel',
      {
        schema: {
          operationId: 'cancelRun',
          tags: ['runs'],
          summary: 'Cancel a run: queued tasks are withdrawn and in-flight teacher calls aborted',
          description:
            'Records already written stay in the run\'s datasets, and the spend so far stays in its usage. Canceling a pipeline cancels its running stage. ' +
            'The event stream ends with `run.canceled`. 409 when the run has already ended; `POST /v1/runs/{id}/retry` resumes a canceled run.',
          params: RunParams,
          response: { 200: RunEnvelope, ...errors(400, 401, 404, 409) },
        },
      },
      async (request) => ({ run: await cancel(deps, request.owner, request.params.id) }),
    );

    app.post(
      '/v1/runs/:id/retry',
      {
        schema: {
          operationId: 'retryRun',
          tags: ['runs'],
          summary: 'Re-queue the tasks of a failed or canceled run that did not succeed',
          description:
            'Succeeded tasks and their records are kept; only failed (and withdrawn) tasks run again. A retry right after a cancel supersedes it: attempts the cancel is still aborting are queued again. 409 when the run is not failed or canceled, has nothing to retry, or a dataset it writes was deleted (named in `details`). ' +
            'A run that stopped at its budget (error.category budget_exceeded) resumes with a body `{ "max_cost_usd": <higher> }`; without one it is a 400.',
          params: RunParams,
          // Its examples show in the contract, as jsonBody (request-body.ts) adds them, with the body's type kept.
          body: { ...RetryBody, 'x-examples': RETRY_EXAMPLES },
          response: { 200: RunEnvelope, ...errors(400, 401, 404, 409) },
        },
        // The body is optional: none is the same as {}.
        preValidation: async (request) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
      },
      async (request) => ({ run: await retry(deps, request.owner, request.params.id, request.body) }),
    );
  };
}
