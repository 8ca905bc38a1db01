import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { JobDeps } from '../services/jobs/job-deps.js';
import { LIMITS } from '../services/limits.js';
import { importTopics, listTopicsViews, topicsView } from '../services/topics/topics.service.js';
import { mediaBody } from './request-body.js';
import { TopicsId, errors } from './schemas.js';

/** A DeepFabric tree file (JSONL) or graph file (JSON), each with an example the contract shows. */
const importBody = mediaBody(
  {
    'application/json': Type.Object({}, { additionalProperties: true, description: 'DeepFabric graph JSON: { nodes: { "<id>": { id, topic, children: [ids], metadata? } }, root_id, metadata? }' }),
    'application/x-ndjson': Type.String({ description: 'DeepFabric tree JSONL: one {"path": [root, …, leaf]} per line' }),
  },
  {
    'application/json': {
      graph: {
        summary: 'A DeepFabric topic graph (node 3 has two parents)',
        value: {
          root_id: 0,
          nodes: {
            '0': { id: 0, topic: 'Postgres', children: [1, 2] },
            '1': { id: 1, topic: 'Indexes', children: [3] },
            '2': { id: 2, topic: 'Query planning', children: [3] },
            '3': { id: 3, topic: 'Index-only scans', children: [] },
          },
        },
      },
    },
    'application/x-ndjson': {
      tree: {
        summary: 'A DeepFabric topic tree, one root → leaf path a line',
        value: '{"path":["Postgres","Indexes","BRIN"]}\n{"path":["Postgres","Indexes","GIN"]}\n{"path":["Postgres","Vacuum"]}\n',
      },
    },
  },
);

const TopicsSummary = Type.Object({ id: TopicsId, mode: Type.String(), prompt: Type.String(), created_at: Type.String() }, { additionalProperties: true });

export function topicsRoutes(deps: Pick<JobDeps, 'database'>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/topics',
      {
        schema: {
          operationId: 'listTopics',
          tags: ['topics'],
          summary: 'List topic trees and graphs, newest first',
          description: 'Built (`POST /v1/topics`) and imported (`POST /v1/topics/import`) ones alike, without their nodes; pass `next_before` back as `before` for the next page (null on the last).',
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
          description:
            'format=json (default): { topics: { …, nodes, edges, path_count, paths_truncated, paths } }; format=jsonl: DeepFabric tree file, one {"path": [...]} per line; ' +
            'format=graph: DeepFabric graph JSON. A graph can have exponentially many paths, so they are listed up to paths_limit ' +
            `(and ${LIMITS.pathsChars / 2 ** 20} MiB of topic text): path_count is the total, paths_truncated says whether the list stops short ` +
            '(for jsonl, the x-paths-truncated and x-path-count headers).',
          params: Type.Object({ id: TopicsId }),
          querystring: Type.Object({
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('jsonl'), Type.Literal('graph')])),
            paths_limit: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: LIMITS.pathsMax,
                description: `Most root → leaf paths to list (default ${LIMITS.pathsDefault} for json, ${LIMITS.pathsMax} for jsonl; at most ${LIMITS.pathsMax})`,
              }),
            ),
          }),
          response: {
            200: { description: 'The structure', content: { 'application/json': { schema: { type: 'object' } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const view = await topicsView(deps, request.owner, request.params.id, request.query.format ?? 'json', request.query.paths_limit);
        return reply.headers(view.headers).type(view.contentType).send(view.body);
      },
    );

    app.post(
      '/v1/topics/import',
      {
        schema: {
          operationId: 'importTopics',
          tags: ['topics'],
          summary: 'Import a DeepFabric tree (JSONL) or graph (JSON) as a topics resource',
          description:
            'Send the tree file with Content-Type application/x-ndjson, or the graph file as application/json (a UTF-8 byte order mark is accepted). ' +
            'The result can feed POST /v1/generate like a built one. A malformed file is a 400 naming the line or node. ' +
            `Limits: ${LIMITS.importNodes.toLocaleString('en-US')} topics, ${LIMITS.importEdges.toLocaleString('en-US')} graph links, ` +
            `${LIMITS.importPathLength} topics on a root → node path, ${LIMITS.topicChars} characters per topic, ${LIMITS.importMetadataBytes / 1024} KiB of graph metadata; a graph must not have cycles.`,
          body: importBody.body,
          response: { 201: Type.Object({ topics: TopicsSummary }), ...errors(400, 401, 413, 415) },
        },
        preValidation: importBody.preValidation,
      },
      async (request, reply) => {
        const topics = await importTopics(deps, request.owner, request.body, request.headers['content-type'] ?? '');
        return reply.status(201).header('location', topics.links.self).send({ topics });
      },
    );
  };
}
