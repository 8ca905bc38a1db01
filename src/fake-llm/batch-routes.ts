// The fake teacher's batch endpoints (OpenAI Files + Batches, Anthropic Message Batches) behind one
// entry the HTTP server calls, over one store of batches.
import type http from 'node:http';
import { send } from './http.js';
import { anthropicBatchRoutes } from './batch-anthropic.js';
import type { BatchRequest } from './batch-http.js';
import { openaiBatchRoutes } from './batch-openai.js';
import { createBatchStore, type AnswerLine, type BatchKnobs, type FakeBatchStats } from './batches.js';

export type { BatchKnobs, FakeBatchStats, LineAnswer } from './batches.js';

export interface BatchRoutes {
  /** Whether the path is a batch endpoint (its body is multipart or JSON the routes read themselves). */
  owns(path: string): boolean;
  handle(req: http.IncomingMessage, path: string, raw: string, res: http.ServerResponse): Promise<void>;
  configure(knobs: Partial<BatchKnobs>): void;
  knobs(): BatchKnobs;
  stats(): FakeBatchStats;
  resetCounters(): void;
  close(): void;
}

export function createBatchRoutes(answerLine: AnswerLine): BatchRoutes {
  const store = createBatchStore(answerLine);
  const routes = [openaiBatchRoutes(store), anthropicBatchRoutes(store)];
  return {
    owns: (path) => path === '/v1/files' || path.startsWith('/v1/files/') || path === '/v1/batches' || path.startsWith('/v1/batches/') || path.startsWith('/v1/messages/batches'),
    async handle(req, path, raw, res) {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: BatchRequest = {
        method: req.method ?? 'GET',
        path,
        query: url.searchParams,
        raw,
        contentType: String(req.headers['content-type'] ?? ''),
        origin: `http://${req.headers.host ?? '127.0.0.1'}`,
        res,
      };
      for (const route of routes) if (await route(request)) return;
      const anthropic = req.headers['anthropic-version'] !== undefined;
      const message = `Unknown endpoint: ${request.method} ${path}`;
      send(res, 404, anthropic ? { type: 'error', error: { type: 'not_found_error', message } } : { error: { message, type: 'not_found_error', param: null, code: null } });
    },
    configure: (knobs) => store.configure(knobs),
    knobs: () => store.knobs(),
    stats: () => store.stats(),
    resetCounters: () => store.resetCounters(),
    close: () => store.close(),
  };
}
