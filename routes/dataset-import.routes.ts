import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Database } from '../db/client.js';
import { importDataset } from '../services/datasets/datasets.service.js';
import { DEFAULT_IMPORT_LIMITS, bytesText, fmt, type ImportLimits } from '../services/datasets/import-batches.js';
import { validatorCompiler } from '../src/http/validation.js';
import { mediaBody } from './request-body.js';
import { Dataset, errors } from './schemas.js';

const JSON_LINES_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'];
const JSON_LINES = /^application\/(x-ndjson|jsonl|x-jsonlines)\b/i;

const Records = Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1 });
const JsonLines = Type.String({ description: 'JSONL: one record object per line' });
const QA = [
  { question: 'What is a task lease?', answer: 'A time-limited claim on a task: while it holds, no other worker can take the task.' },
  { question: 'Why do workers heartbeat?', answer: 'To extend their lease while a task takes longer than the lease.' },
];

/** The body in each media type it comes in, for the contract: the service reads all three shapes as they stream. */
const { body } = mediaBody(
  {
    'application/json': Type.Union([Records, Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), records: Records }, { additionalProperties: false })]),
    'application/x-ndjson': JsonLines,
  },
  {
    'application/json': {
      array: { summary: 'A JSON array of records', value: QA },
      named: { summary: 'Records with a dataset name', value: { name: 'lease-faq', records: QA } },
    },
    'application/x-ndjson': { jsonl: { summary: 'JSONL, one record a line (name it with ?name=)', value: `${QA.map((r) => JSON.stringify(r)).join('\n')}\n` } },
  },
);

const contentLength = (header: string | undefined) => (header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined);

const describe = (limits: ImportLimits) =>
  'Body: a JSON array of record objects, `{ "name": "...", "records": [...] }` (name before or after records), or JSONL ' +
  '(Content-Type application/x-ndjson, application/jsonl or application/x-jsonlines) with `?name=`. ' +
  'The body is read as it arrives and its records are written in batches inside one transaction: memory does not grow with the body, ' +
  'and a refused record anywhere, or a connection closed before the end, leaves no dataset and no record. ' +
  `Bounds: at most ${fmt(limits.maxRecords)} records (413 naming records) and ${bytesText(limits.maxBytes)} of body (IMPORT_MAX_BYTES; 413 naming body) per import; ` +
  `a record or JSONL line over ${bytesText(limits.maxRecordBytes)} is a 400 naming it (records.<i> or line.<n>), and so is every other refused record ` +
  '(not an object, not JSON, NUL, unpaired surrogates, __proto__/constructor keys, nesting over 100 levels); ' +
  `any other value of the body (the name, an unknown field) over ${bytesText(limits.maxRecordBytes)} is a 413. ` +
  'The whole body must arrive within HTTP_REQUEST_TIMEOUT_MS (408 after it).';

/**
 * POST /v1/datasets in a plugin of its own: here, and only here, no parser reads the body; the
 * service takes it as a stream. Its schema still documents the three shapes (and the contract tests
 * fuzz them), but the body is checked by the service as it streams, not by Ajv on a parsed whole.
 */
export function datasetImportRoute(deps: { database: Database; importLimits?: ImportLimits }): FastifyPluginAsyncTypebox {
  const importLimits = deps.importLimits ?? DEFAULT_IMPORT_LIMITS;
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', ...JSON_LINES_TYPES], (_request, _payload, done) => done(null));
    const compile = validatorCompiler();

    app.post(
      '/v1/datasets',
      {
        schema: {
          operationId: 'importDataset',
          tags: ['datasets'],
          summary: 'Import records as a new dataset (streamed)',
          description: describe(importLimits),
          querystring: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
          body,
          response: { 201: Type.Object({ dataset: Dataset }), ...errors(400, 401, 413, 415) },
        },
        validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : compile(route)),
      },
      async (request, reply) => {
        try {
          const dataset = await importDataset({ database: deps.database, importLimits }, request.owner, {
            name: request.query.name,
            format: JSON_LINES.test(request.headers['content-type'] ?? '') ? 'jsonl' : 'json',
            // Not destroyed when the import stops early: the error answer still goes out on this socket.
            body: request.raw.iterator({ destroyOnReturn: false }),
            declaredBytes: contentLength(request.headers['content-length']),
          });
          return reply.status(201).header('location', dataset.links.self).send({ dataset });
        } catch (err) {
          // Refused before the body's end: the rest is not read, so the connection cannot carry another request.
          if (!request.raw.complete) reply.header('connection', 'close');
          throw err;
        }
      },
    );
  };
}
