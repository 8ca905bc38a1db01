import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { GenerateDeps } from '../services/generate/generate.service.js';
import { importTopics, listTopicsViews, topicsView } from '../services/topics/topics.service.js';
import { TopicsId, errors } from './schemas.js';

const TopicsSummary = Type.Object({ id: TopicsId, mode: Type.String(), prompt: Type.String(), created_at: Type.String() }, { additionalProperties: true });

export function topicsRoutes(deps: GenerateDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/topics',
      {
        schema: {
          operationId: 'listTopics',
          tags: ['topics'],
          summary: 'List topic trees and graphs, newest first',
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })), before: Type.Optional(TopicsId) }),
          response: { 200: Type.Object({ topics: Type.Array(TopicsSummary), next_before: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
        },
      },
      async (request) => listTopicsViews(deps, request.owner, request.query),
    );

    app.get(
      '/v1/topics/:id',
      {
        schema: {
          operationId: 'getTopics',
          tags: ['topics'],
          summary: 'A topic tree or graph: nodes, edges and root → leaf paths, or a DeepFabric file',
          description: 'format=json (default): { topics: { …, nodes, edges, paths } }; format=jsonl: DeepFabric tree file, one {"path": [...]} per line; format=graph: DeepFabric graph JSON.',
          params: Type.Object({ id: TopicsId }),
          querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('jsonl'), Type.Literal('graph')])) }),
          response: {
            200: { description: 'The structure', content: { 'application/json': { schema: { type: 'object' } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const view = await topicsView(deps, request.owner, request.params.id, request.query.format ?? 'json');
        return reply.type(view.contentType).send(view.body);
      },
    );

    app.post(
      '/v1/topics/import',
      {
        schema: {
          operationId: 'importTopics',
          tags: ['topics'],
          summary: 'Import a DeepFabric tree (JSONL) or graph (JSON) as a topics resource',
          description: 'Send the tree file with Content-Type application/x-ndjson, or the graph file as application/json. The result can feed POST /v1/generate like a built one.',
          body: Type.Union([Type.String({ description: 'DeepFabric tree JSONL' }), Type.Object({}, { additionalProperties: true, description: 'DeepFabric graph JSON' })]),
          response: { 201: Type.Object({ topics: TopicsSummary }), ...errors(400, 401, 413, 415) },
        },
      },
      async (request, reply) => {
        const topics = await importTopics(deps, request.owner, request.body, request.headers['content-type'] ?? '');
        return reply.status(201).header('location', topics.links.self).send({ topics });
      },
    );
  };
}
