import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ID_PATTERN } from '../src/ids.js';
import { Type } from '@sinclair/typebox';
import { getDataset, listDatasetViews, listRecords, removeDataset } from '../services/datasets/datasets.service.js';
import type { ImportLimits } from '../services/datasets/import-batches.js';
import { exportDataset } from '../services/export/export.service.js';
import { createRenderChecks } from '../services/export/render-check.js';
import { EXPORT_FORMATS } from '../services/export/formats.js';
import { TOOLS_STRATEGIES } from '../services/export/tool-formats.js';
import { KNOWLEDGE_CONTEXTS } from '../services/records/to-messages.js';
import type { Database } from '../db/client.js';
import { datasetImportRoute } from './dataset-import.routes.js';
import { Dataset, DatasetParams, errors } from './schemas.js';


export function datasetsRoutes(deps: { database: Database; importLimits?: ImportLimits }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const checks = createRenderChecks();

    app.get(
      '/v1/datasets',
      {
        schema: {
          operationId: 'listDatasets',
          tags: ['datasets'],
          summary: 'List datasets, newest first',
          description: 'Imported datasets and those runs wrote, with record counts; pass `next_before` back as `before` for the next page (null on the last).',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            before: Type.Optional(Type.String({ pattern: ID_PATTERN('ds'), description: 'Cursor: next_before of the previous page (the id of its last item)' })),
          }),
          response: { 200: Type.Object({ datasets: Type.Array(Dataset), next_before: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
        },
      },
      async (request) => listDatasetViews(deps, request.owner, request.query),
    );

    await app.register(datasetImportRoute(deps));

    app.get(
      '/v1/datasets/:id',
      {
        schema: {
          operationId: 'getDataset',
          tags: ['datasets'],
          summary: 'Get a dataset',
          description: 'Its name, record count (counting while a run writes it), the run that wrote it and links to its records and export.',
          params: DatasetParams,
          response: { 200: Type.Object({ dataset: Dataset }), ...errors(400, 401, 404) },
        },
      },
      async (request) => ({ dataset: await getDataset(deps, request.owner, request.params.id) }),
    );

    app.delete(
      '/v1/datasets/:id',
      {
        schema: {
          operationId: 'deleteDataset',
          tags: ['datasets'],
          summary: 'Delete a dataset and its records (refused while a run may still write or read it)',
          description:
            '409 while the run that writes it is queued or running, while that run\'s pipeline is (its later stages read it), or while a running pipeline takes it as input or a queued or running export (POST /v1/export) reads it. Finished exports keep their files (a copy, removed by export retention). A canceled or failed run\'s datasets can be deleted; that run can then no longer be retried.',
          params: DatasetParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors(400, 401, 404, 409) },
        },
      },
      async (request, reply) => {
        await removeDataset(deps, request.owner, request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/v1/datasets/:id/records',
      {
        schema: {
          operationId: 'listDatasetRecords',
          tags: ['datasets'],
          summary: 'Page through the records of a dataset',
          description: 'Records in the order they were stored, each `{ key, data }`; pass `next_cursor` back as `cursor` for the next page (null on the last).',
          params: DatasetParams,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String({ pattern: '^\\d{1,15}$', description: 'next_cursor of the previous page (digits, at most 15)' })),
          }),
          response: {
            200: Type.Object({ records: Type.Array(Type.Object({ key: Type.String(), data: Type.Unknown() })), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
            ...errors(400, 401, 404),
          },
        },
      },
      async (request) => listRecords(deps, request.owner, request.params.id, request.query),
    );

    app.get(
      '/v1/datasets/:id/export',
      {
        schema: {
          operationId: 'exportDataset',
          tags: ['datasets'],
          summary: 'Stream a dataset in a training format (JSONL)',
          description:
            'chatml: {"messages":[system?, user, assistant]} (CoT reasoning written before the answer); messages: the same, with CoT reasoning as the assistant\'s reasoning_content; alpaca: {"instruction","input","output","system"?}; ' +
            'sharegpt: {"conversations":[{"from":"human"|"gpt"|"function_call"|"observation","value"}],"system"?,"tools"?: JSON text} (LLaMA-Factory); ' +
            'openai: OpenAI fine-tuning, {"messages","tools"?,"parallel_tool_calls"?}, assistant tool_calls with arguments as JSON text, tool turns keyed by tool_call_id, CoT reasoning before the answer; ' +
            'trl: HF TRL / axolotl, {"messages","tools"?}, arguments as an object, tool turns carry the function\'s name; ' +
            'xlam: APIGen\'s {"query","tools","answers"} (tools and answers JSON text), tool-call conversations only; jsonl: the records as stored; ' +
            'fairforge: a JSON array holding one Fair-Forge evaluation dataset, as Fair-Forge groups them (a sequential run writes one dataset, a random-sampling run one per sample): ' +
            '{session_id (the dataset id), assistant_id, context (the chunks\' text, each once, joined by a blank line), language, conversation: [{qa_id ({chunk}_q{i} or {chunk}_t{n}), query, assistant: "", ground_truth_assistant, observation, agentic, ground_truth_agentic, logprobs, weight}]}; an empty dataset is []. ' +
            '`system_prompt` adds (or replaces) the system message. `context` (knowledge records, as Red Hat\'s Step 04 knowledge mixing writes them): `none` (default) makes the question the user turn; ' +
            '`document` puts the outline and the document the question was asked about (`document_outline`, `document`) before it, separated by a blank line; `outline` asks "In <document_outline>, <question>". Every record is checked against the format\'s input contract before the first byte: ' +
            'a record that cannot be rendered is a 422 naming it and the field (`records.<key>.<field>`); jsonl renders anything.',
          params: DatasetParams,
          querystring: Type.Object({
            format: Type.Union([...EXPORT_FORMATS, 'fairforge' as const].map((f) => Type.Literal(f)), { default: 'jsonl' }),
            system_prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
            context: Type.Optional(
              Type.Union(KNOWLEDGE_CONTEXTS.map((c) => Type.Literal(c)), { default: 'none', description: 'chat formats, knowledge records: what goes into the user turn besides the question (Step 04 knowledge mixing)' }),
            ),
            tools_strategy: Type.Optional(
              Type.Union(TOOLS_STRATEGIES.map((t) => Type.Literal(t)), {
                default: 'all',
                description: 'tool-call conversations, every format but jsonl: `all` lists every tool the example was offered, `used_only` only the tools it calls (DeepFabric\'s trimming)',
              }),
            ),
            assistant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'fairforge: the assistant under evaluation (default "assistant")' })),
            language: Type.Optional(Type.String({ minLength: 2, maxLength: 50, description: 'fairforge: the language when neither the run that generated the dataset (or its source) set one nor its records carry one (default "english")' })),
          }),
          response: {
            200: { description: 'JSON Lines (a JSON array for fairforge)', content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'array', items: { type: 'object' } } } } },
            ...errors(400, 401, 404, 422),
          },
        },
      },
      async (request, reply) => {
        const { query } = request;
        const { stream, filename, contentType } = await exportDataset({ ...deps, checks, log: request.log }, request.owner, request.params.id, query.format, {
          systemPrompt: query.system_prompt,
          knowledgeContext: query.context,
          toolsStrategy: query.tools_strategy,
          fairforge: { assistantId: query.assistant_id ?? 'assistant', language: query.language ?? 'english' },
        });
        return reply.type(contentType).header('content-disposition', `attachment; filename="${filename}"`).send(stream);
      },
    );
  };
}
