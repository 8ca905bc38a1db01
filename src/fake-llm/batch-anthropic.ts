// Anthropic's Message Batches API on the fake teacher: each request's params answered like
// /v1/messages, results as the JSONL the real API serves from `results_url` once the batch ended.
import { anthropicWire } from './anthropic.js';
import { send } from './http.js';
import { isObject, jsonl, page, parseJsonBody, sendText, type BatchRequest } from './batch-http.js';
import { shuffled, type BatchStore, type FakeBatch } from './batches.js';

/** The real API's bounds on one batch. */
const MAX_REQUESTS = 100_000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const BASE = '/v1/messages/batches';

const error = (status: number, req: BatchRequest, message: string, type: 'invalid_request_error' | 'not_found_error' = 'invalid_request_error') =>
  void send(req.res, status, anthropicWire.error(type, message));

/** Routes /v1/messages/batches…; false for any other path. */
export function anthropicBatchRoutes(store: BatchStore): (req: BatchRequest) => Promise<boolean> {
  const create = (req: BatchRequest) => {
    const body = parseJsonBody(req.raw);
    const requests: unknown = isObject(body) ? body.requests : undefined;
    if (!Array.isArray(requests) || requests.length === 0) return error(400, req, 'requests: Field required (a non-empty list)');
    if (requests.length > MAX_REQUESTS) return error(400, req, `requests: at most ${MAX_REQUESTS} requests per batch, got ${requests.length}`);
    const seen = new Set<string>();
    for (const [i, r] of requests.entries()) {
      if (!isObject(r) || typeof r.custom_id !== 'string' || !CUSTOM_ID.test(r.custom_id)) return error(400, req, `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
      if (seen.has(r.custom_id)) return error(400, req, `requests.${i}.custom_id: duplicate custom_id "${r.custom_id}"; each request needs its own`);
      seen.add(r.custom_id);
      if (!isObject(r.params)) return error(400, req, `requests.${i}.params: Field required`);
    }
    const lines = requests.map((r) => ({ custom_id: r.custom_id as string, body: r.params as Record<string, any> }));
    send(req.res, 200, view(store.create('anthropic', lines, { wire: anthropicWire, idPrefix: 'msgbatch_' }), req.origin));
  };

  return async (req) => {
    const { method, path } = req;
    if (method === 'POST' && path === BASE) return create(req), true;
    if (method === 'GET' && path === BASE) {
      // Newest first; `after_id` pages on to older batches, `before_id` back to newer ones.
      const all = store.list('anthropic');
      const before = req.query.get('before_id');
      const items = before ? all.slice(0, Math.max(0, all.findIndex((b) => b.id === before))).reverse() : all;
      const listed = page(items, before ? null : req.query.get('after_id'), req.query.get('limit'), 1000);
      if (!listed) return error(400, req, 'limit: Input should be an integer from 1 to 1000'), true;
      const data = (before ? [...listed.data].reverse() : listed.data).map((b) => view(b, req.origin));
      send(req.res, 200, { data, has_more: listed.has_more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
      return true;
    }
    const match = new RegExp(`^${BASE}/([^/]+)(/results|/cancel)?$`).exec(path);
    if (!match) return false;
    const [, id, action] = match;
    const wanted = action === '/cancel' ? 'POST' : 'GET';
    if (method !== wanted) return false;
    const batch = store.get('anthropic', id);
    if (!batch) return error(404, req, `message batch ${id} not found`, 'not_found_error'), true;
    if (action === '/results') {
      if (batch.phase !== 'ended') return error(400, req, `message batch ${id} has not ended yet (processing_status: ${view(batch, req.origin).processing_status})`), true;
      sendText(req.res, 200, jsonl(results(batch)), 'application/binary');
      return true;
    }
    if (action === '/cancel') store.cancel(batch);
    send(req.res, 200, view(batch, req.origin));
    return true;
  };
}

function results(batch: FakeBatch) {
  return shuffled(batch.outcomes).map((o) => {
    if ('skipped' in o) return { custom_id: o.custom_id, result: { type: o.skipped } };
    if (o.status < 300) return { custom_id: o.custom_id, result: { type: 'succeeded', message: o.body } };
    return { custom_id: o.custom_id, result: { type: 'errored', error: o.body } };
  });
}

/** The batch as GET /v1/messages/batches/{id} shows it. */
function view(b: FakeBatch, origin: string) {
  const ended = b.phase === 'ended';
  const count = (test: (o: FakeBatch['outcomes'][number]) => boolean) => (ended ? b.outcomes.filter(test).length : 0);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: b.id,
    type: 'message_batch',
    processing_status: ended ? 'ended' : b.phase === 'cancelling' ? 'canceling' : 'in_progress',
    request_counts: {
      processing: ended ? 0 : b.lines.length,
      succeeded: count((o) => 'status' in o && o.status < 300),
      errored: count((o) => 'status' in o && o.status >= 300),
      canceled: count((o) => 'skipped' in o && o.skipped === 'canceled'),
      expired: count((o) => 'skipped' in o && o.skipped === 'expired'),
    },
    ended_at: iso(b.endedAt),
    created_at: iso(b.createdAt),
    expires_at: iso(b.createdAt + 24 * 3600 * 1000),
    archived_at: null,
    cancel_initiated_at: iso(b.cancelAt),
    results_url: ended ? `${origin}${BASE}/${b.id}/results` : null,
  };
}
