import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Database } from '../db/client.js';
import { exportArchive, exportFile, getExport } from '../services/export-job/export-files.service.js';
import { errors, Run, RunParams } from './schemas.js';

const ExportFile = Type.Object({
  path: Type.String({ description: 'Path in the folder, e.g. `data/train-00000-of-00001.parquet` or `README.md`' }),
  split: Type.Union([Type.String(), Type.Null()], { description: 'The split a data file holds; null for the card' }),
  rows: Type.Integer({ description: 'Records in the file (0 for the card)' }),
  bytes: Type.Integer(),
  sha256: Type.String(),
});

const RETENTION =
  'Files are kept for EXPORT_TTL_DAYS (default 7) and within EXPORT_MAX_MB (default 8192) for all exports together, the oldest removed first, a whole export at a time; ' +
  'an export whose files were removed answers 410 (`gone`, "export … expired"): run it again.';
const COMPLETE_ONLY = `Only a succeeded export is served: a queued, running, canceled or failed one is a 409 (\`conflict\`, naming its status). ${RETENTION}`;

/** A file's path in an export: segments of letters, digits, `._-`, none starting with a dot (so no `..`). */
const ExportFilePath = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$',
  description: 'The file path as GET /v1/exports/{id} lists it, URL-encoded',
});

/** The files of export runs (POST /v1/export), served from the database by any API process. */
export function exportsRoutes(deps: { database: Database }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/exports/:id',
      {
        schema: {
          operationId: 'getExport',
          tags: ['datasets'],
          summary: 'An export run and the files it wrote',
          description:
            'The run (as GET /v1/runs/{id}) and its files by path: split, rows, bytes, sha256. While the run is queued or running, the files written so far; ' +
            'once it succeeded, all of them; a canceled or failed export lists none (its partial files are discarded, never served). ' +
            `${RETENTION} Another key's export, or a run that is not an export, is a 404.`,
          params: RunParams,
          response: { 200: Type.Object({ run: Run, files: Type.Array(ExportFile) }), ...errors(400, 401, 404, 410) },
        },
      },
      async (request) => getExport(deps, request.owner, request.params.id),
    );

    app.get(
      '/v1/exports/:id/files/:path',
      {
        schema: {
          operationId: 'getExportFile',
          tags: ['datasets'],
          summary: 'Download one file of an export',
          description: `The path as GET /v1/exports/{id} lists it, URL-encoded (\`data%2Ftrain-00000-of-00001.parquet\`); streamed from the database. ${COMPLETE_ONLY}`,
          params: Type.Object({ id: RunParams.properties.id, path: ExportFilePath }),
          response: { 200: { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errors(400, 401, 404, 409, 410) },
        },
      },
      async (request, reply) => {
        const { file, contentType, stream } = await exportFile(deps, request.owner, request.params.id, request.params.path);
        const name = file.path.split('/').pop() ?? 'file';
        return reply.type(contentType).header('content-length', file.bytes).header('content-disposition', `attachment; filename="${name}"`).send(stream);
      },
    );

    app.get(
      '/v1/exports/:id/archive',
      {
        schema: {
          operationId: 'getExportArchive',
          tags: ['datasets'],
          summary: 'Download every file of an export as one tar',
          description:
            'A ustar archive of the folder (the card and `data/…`), streamed: `curl … | tar -x -C my-dataset` gives a folder `datasets.load_dataset` and `huggingface-cli upload` take as it is. ' +
            COMPLETE_ONLY,
          params: RunParams,
          response: { 200: { description: 'A tar archive', content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } } }, ...errors(400, 401, 404, 409, 410) },
        },
      },
      async (request, reply) => {
        const { filename, stream } = await exportArchive(deps, request.owner, request.params.id);
        return reply.type('application/x-tar').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
      },
    );
  };
}
