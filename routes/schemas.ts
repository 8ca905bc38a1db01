import { Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../src/ids.js';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. validation_failed, not_found' }),
      message: Type.String(),
      details: Type.Array(Type.Object({ field: Type.Optional(Type.String()), message: Type.String() }, { additionalProperties: true })),
    }),
  },
  { description: 'Error' },
);

/** Declares the error responses of a route, typed so handlers may `reply.status(4xx).send(...)`. */
export const errors = <const S extends number[]>(...statuses: S) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as { [K in S[number]]: typeof ErrorBody };

export const RunId = Type.String({ pattern: ID_PATTERN('run'), description: 'Run id (run_ + 24 hex)' });
export const DatasetId = Type.String({ pattern: ID_PATTERN('ds'), description: 'Dataset id (ds_ + 24 hex)' });
export const RunParams = Type.Object({ id: RunId });
export const DatasetParams = Type.Object({ id: DatasetId });
export const TopicsId = Type.String({ pattern: ID_PATTERN('tp'), description: 'Topics id (tp_ + 24 hex)' });

const RunStatus = Type.Union(['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => Type.Literal(s)));

export const Progress = Type.Object({
  total: Type.Integer({ description: 'Tasks planned (one chunk, one batch, one topic path each)' }),
  done: Type.Integer({ description: 'Tasks that succeeded' }),
  failed: Type.Integer({ description: 'Tasks that failed after their last attempt' }),
  records: Type.Integer({ description: 'Records written to the output dataset' }),
  records_per_second: Type.Number(),
  tasks_per_second: Type.Number(),
  tokens: Type.Object({ input: Type.Integer(), output: Type.Integer() }),
  cost_usd: Type.Number({ description: 'Spent so far, USD (every attempt, at the prices in effect: GET /v1/providers)' }),
  projected_cost_usd: Type.Union([Type.Number(), Type.Null()], {
    description: 'Spent ÷ finished tasks × all tasks; null before the first task finished, and for a pipeline (its stage runs project their own)',
  }),
  cost_per_minute: Type.Number({ description: 'USD spent per minute since the run started' }),
  batch_expected_completion: Type.Optional(Type.String({ description: 'llm.mode batch: when the provider expects the run’s open batches to complete' })),
  cache_hits: Type.Integer({ description: 'Teacher calls the response cache answered (no request, no tokens, no cost)' }),
  eta_seconds: Type.Union([Type.Number(), Type.Null()], { description: 'Estimated seconds left; null before any task finished, and once the run has ended' }),
});

export const Run = Type.Object(
  {
    id: RunId,
    kind: Type.String({ description: 'generate, topics, enrich, curate, …' }),
    status: RunStatus,
    spec: Type.Unknown({ description: 'The validated request that started the run' }),
    progress: Progress,
    max_cost_usd: Type.Union([Type.Number(), Type.Null()], { description: 'The run’s budget, USD (`max_cost_usd`); null: none' }),
    usage: Type.Object({
      requests: Type.Integer({ description: 'Requests sent to providers' }),
      input_tokens: Type.Integer(),
      output_tokens: Type.Integer(),
      cost_usd: Type.Number(),
      cache_hits: Type.Integer({ description: 'Teacher calls the response cache answered instead (see GET /v1/cache)' }),
    }),
    output: Type.Object(
      {
        dataset_id: Type.Optional(DatasetId),
        rejected_dataset_id: Type.Optional({ ...DatasetId, description: 'curate: the records that were not kept, each with its rejection reason' }),
        export: Type.Optional(Type.Object({ format: Type.String(), system_prompt: Type.Optional(Type.String()) }, { description: 'pipeline: the format of links.export' })),
        topics_id: Type.Optional(Type.String({ description: 'topics: the tree or graph this run builds' })),
        datasets: Type.Optional(Type.Record(Type.String(), DatasetId, { description: 'knowledge: the output dataset of each flow; random strategy: of each sample' })),
        report: Type.Optional(Type.Unknown({ description: 'What the run planned and what happened: chunks, task counts, failures; for curate also kept, rejected by reason and the rating histogram' })),
      },
      { additionalProperties: true },
    ),
    error: Type.Optional(
      Type.Object(
        {
          category: Type.String(),
          message: Type.String(),
          cause: Type.Optional(Type.Object({ category: Type.String(), message: Type.String() }, { additionalProperties: true, description: 'pipeline: the error of the stage run that stopped it' })),
        },
        { additionalProperties: true },
      ),
    ),
    created_at: Type.String({ format: 'date-time' }),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    links: Type.Object({
      self: Type.String(),
      events: Type.String({ description: 'SSE stream of run events' }),
      ws: Type.String({ description: 'WebSocket stream of run events' }),
      dataset: Type.Optional(Type.String()),
      export: Type.Optional(Type.String({ description: 'The output dataset in a training format; not for topics runs, whose links.topics downloads the tree or graph' })),
      rejected: Type.Optional(Type.String({ description: 'curate: the rejected records' })),
      topics: Type.Optional(Type.String({ description: 'topics: the tree or graph' })),
      files: Type.Optional(Type.String({ description: 'export: the files it wrote (GET /v1/exports/{id})' })),
      archive: Type.Optional(Type.String({ description: 'export: every file as one tar' })),
    }),
  },
  { description: 'A run: one job, planned into tasks, executed by workers' },
);

export const RunEnvelope = Type.Object({ run: Run });

export const Dataset = Type.Object({
  id: DatasetId,
  name: Type.String(),
  record_count: Type.Integer(),
  run_id: Type.Optional(Type.String()),
  meta: Type.Unknown(),
  created_at: Type.String({ format: 'date-time' }),
  links: Type.Object({ self: Type.String(), records: Type.String(), export: Type.String() }),
});

export const JobHeaders = Type.Object({
  prefer: Type.Optional(
    Type.String({
      maxLength: 1024,
      description:
        'Preferences (RFC 7240), e.g. `respond-async, wait=10`: wait=N holds the answer up to N seconds (at most 600) for the run to end; ' +
        'on job endpoints respond-async answers 202 at once (the default without wait). Others are ignored; a wait that is not a whole number of seconds is a 400. ' +
        'Preference-Applied names those the answer honoured.',
    }),
  ),
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'A repeated request with the same key returns the same run' })),
});
