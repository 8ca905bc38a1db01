// OpenAI's Files and Batch APIs on the fake teacher: an uploaded JSONL file of chat-completion
// requests becomes a batch; its lines are answered like /v1/chat/completions and written back as
// output and error files, the shapes the real API writes.
import { randomBytes } from 'node:crypto';
import { send } from './http.js';
import { openaiWire } from './openai.js';
import { isObject, jsonl, page, parseJsonBody, sendText, type BatchRequest } from './batch-http.js';
import { seconds, shuffled, type BatchStore, type FakeBatch } from './batches.js';

/** The real API's bounds on one batch input file. */
const MAX_LINES = 50_000;
const ENDPOINT = '/v1/chat/completions';

interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
  content: string;
}

const error = (status: number, req: BatchRequest, message: string, type: 'invalid_request_error' | 'not_found_error' = 'invalid_request_error') =>
  void send(req.res, status, openaiWire.error(type, message));

/** Routes /v1/files and /v1/batches; false for any other path. */
export function openaiBatchRoutes(store: BatchStore): (req: BatchRequest) => Promise<boolean> {
  const files = new Map<string, StoredFile>();
  const fileId = () => `file-${randomBytes(12).toString('hex')}`;

  const writeFile = (filename: string, purpose: string, content: string): StoredFile => {
    const file: StoredFile = { id: fileId(), object: 'file', bytes: Buffer.byteLength(content), created_at: seconds(Date.now())!, filename, purpose, status: 'processed', status_details: null, content };
    files.set(file.id, file);
    return file;
  };
  const fileView = ({ content: _content, ...view }: StoredFile) => view;

  /** Output file: lines answered 2xx; error file: the others, and lines that never ran. */
  const writeResults = (batch: FakeBatch) => {
    const output: unknown[] = [];
    const errors: unknown[] = [];
    for (const o of shuffled(batch.outcomes)) {
      const id = `batch_req_${randomBytes(12).toString('hex')}`;
      if ('skipped' in o) {
        const [code, message] = o.skipped === 'canceled' ? ['batch_cancelled', 'This request was not executed because the batch was cancelled.'] : ['batch_expired', 'This request could not be executed before the completion window expired.'];
        errors.push({ id, custom_id: o.custom_id, response: null, error: { code, message } });
        continue;
      }
      const line = { id, custom_id: o.custom_id, response: { status_code: o.status, request_id: `req_${randomBytes(12).toString('hex')}`, body: o.body }, error: null };
      (o.status < 300 ? output : errors).push(line);
    }
    if (output.length) batch.extra.output_file_id = writeFile(`batch_${batch.id}_output.jsonl`, 'batch_output', jsonl(output)).id;
    if (errors.length) batch.extra.error_file_id = writeFile(`batch_${batch.id}_error.jsonl`, 'batch_output', jsonl(errors)).id;
  };

  const createBatch = (req: BatchRequest) => {
    const body = parseJsonBody(req.raw);
    if (!isObject(body)) return error(400, req, 'request body must be a JSON object');
    if (body.endpoint !== ENDPOINT) return error(400, req, `Invalid 'endpoint': the fake LLM server batches only ${ENDPOINT}, got ${JSON.stringify(body.endpoint)}`);
    if (body.completion_window !== '24h') return error(400, req, `Invalid 'completion_window': only '24h' is supported, got ${JSON.stringify(body.completion_window)}`);
    const metadataProblem = checkMetadata(body.metadata);
    if (metadataProblem) return error(400, req, metadataProblem);
    const file = typeof body.input_file_id === 'string' ? files.get(body.input_file_id) : undefined;
    if (!file) return error(404, req, `No such File object: ${String(body.input_file_id)}`, 'not_found_error');
    if (file.purpose !== 'batch') return error(400, req, `Invalid 'input_file_id': file ${file.id} has purpose '${file.purpose}', not 'batch'`);
    const { lines, errors } = readInput(file.content);
    const batch = store.create('openai', lines, {
      wire: openaiWire,
      idPrefix: 'batch_',
      errors,
      extra: { input_file_id: file.id, metadata: body.metadata ?? null, model: lines[0]?.body.model },
      onEnd: writeResults,
    });
    send(req.res, 200, view(batch));
  };

  return async (req) => {
    const { method, path } = req;
    if (method === 'POST' && path === '/v1/files') {
      const form = await new Response(req.raw, { headers: { 'content-type': req.contentType } }).formData().catch(() => undefined);
      const file = form?.get('file');
      const purpose = form?.get('purpose');
      if (!form || typeof file === 'string' || !file) return error(400, req, "Missing required parameter: 'file' (a multipart/form-data upload)"), true;
      if (typeof purpose !== 'string') return error(400, req, "Missing required parameter: 'purpose'"), true;
      send(req.res, 200, fileView(writeFile(file.name, purpose, await file.text())));
      return true;
    }
    const fileMatch = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    if (method === 'GET' && fileMatch) {
      const file = files.get(fileMatch[1]);
      if (!file) return error(404, req, `No such File object: ${fileMatch[1]}`, 'not_found_error'), true;
      if (fileMatch[2]) sendText(req.res, 200, file.content, 'application/octet-stream');
      else send(req.res, 200, fileView(file));
      return true;
    }
    if (method === 'POST' && path === '/v1/batches') return createBatch(req), true;
    if (method === 'GET' && path === '/v1/batches') {
      const listed = page(store.list('openai'), req.query.get('after'), req.query.get('limit'), 100);
      if (!listed) return error(400, req, "Invalid 'limit': expected an integer from 1 to 100"), true;
      send(req.res, 200, { object: 'list', data: listed.data.map(view), first_id: listed.data[0]?.id ?? null, last_id: listed.data.at(-1)?.id ?? null, has_more: listed.has_more });
      return true;
    }
    const batchMatch = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (!batchMatch || (method !== 'GET' && !batchMatch[2]) || (method !== 'POST' && batchMatch[2])) return false;
    const batch = store.get('openai', batchMatch[1]);
    if (!batch) return error(404, req, `No batch found with id '${batchMatch[1]}'.`, 'not_found_error'), true;
    if (batchMatch[2]) {
      if (batch.phase === 'ended' && batch.end !== 'cancelled') return error(409, req, `Cannot cancel a batch with status '${batch.end}'.`), true;
      store.cancel(batch);
    }
    send(req.res, 200, view(batch));
    return true;
  };
}

/** The batch as GET /v1/batches/{id} shows it. */
function view(b: FakeBatch) {
  const status = b.phase === 'ended' ? b.end : b.phase;
  const answered = b.outcomes.filter((o) => 'status' in o);
  return {
    id: b.id,
    object: 'batch',
    endpoint: ENDPOINT,
    errors: b.errors.length ? { object: 'list', data: b.errors } : null,
    input_file_id: b.extra.input_file_id,
    completion_window: '24h',
    status,
    output_file_id: b.extra.output_file_id ?? null,
    error_file_id: b.extra.error_file_id ?? null,
    created_at: seconds(b.createdAt),
    in_progress_at: seconds(b.inProgressAt),
    expires_at: seconds(b.createdAt + 24 * 3600 * 1000),
    finalizing_at: seconds(b.end && b.end !== 'failed' ? b.finalizingAt : undefined),
    completed_at: seconds(b.end === 'completed' ? b.endedAt : undefined),
    failed_at: seconds(b.end === 'failed' ? b.endedAt : undefined),
    expired_at: seconds(b.end === 'expired' ? b.endedAt : undefined),
    cancelling_at: seconds(b.cancelAt),
    cancelled_at: seconds(b.end === 'cancelled' ? b.endedAt : undefined),
    request_counts: {
      total: b.lines.length,
      completed: answered.filter((o) => 'status' in o && o.status < 300).length,
      failed: answered.filter((o) => 'status' in o && o.status >= 300).length,
    },
    metadata: b.extra.metadata,
    model: b.extra.model ?? null,
  };
}

/** The real API: at most 16 pairs, keys up to 64 characters, string values up to 512. */
function checkMetadata(metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) return "Invalid type for 'metadata': expected an object";
  const entries = Object.entries(metadata);
  if (entries.length > 16) return "Invalid 'metadata': at most 16 keys";
  const bad = entries.find(([k, v]) => k.length > 64 || typeof v !== 'string' || v.length > 512);
  return bad ? `Invalid 'metadata.${bad[0]}': keys up to 64 characters, values strings up to 512` : undefined;
}

/**
 * The input file's lines, and what fails the batch in validation (as the real API does): a line that
 * is not JSON or lacks custom_id/method/url/body, a url other than the endpoint, a repeated custom_id,
 * more than one model, too many lines.
 */
function readInput(content: string): { lines: FakeBatch['lines']; errors: FakeBatch['errors'] } {
  const lines: FakeBatch['lines'] = [];
  const errors: FakeBatch['errors'] = [];
  const seen = new Set<string>();
  const fail = (line: number | null, code: string, message: string, param: string | null = null) => errors.push({ code, message, line, param });
  content.split('\n').forEach((text, index) => {
    if (!text.trim()) return;
    const n = index + 1;
    const line = parseJsonBody(text);
    if (!isObject(line)) return fail(n, 'invalid_json_line', 'This line is not parseable as valid JSON.');
    if (typeof line.custom_id !== 'string' || !line.custom_id) return fail(n, 'missing_required_parameter', "Missing required parameter: 'custom_id'.", 'custom_id');
    if (seen.has(line.custom_id)) return fail(n, 'duplicate_custom_id', `The custom_id '${line.custom_id}' is used more than once; each request needs its own.`, 'custom_id');
    seen.add(line.custom_id);
    if (line.method !== 'POST') return fail(n, 'invalid_method', "Invalid 'method': only POST is supported.", 'method');
    if (line.url !== ENDPOINT) return fail(n, 'invalid_url', `Invalid 'url': every line must call the batch's endpoint ${ENDPOINT}.`, 'url');
    if (!isObject(line.body)) return fail(n, 'missing_required_parameter', "Missing required parameter: 'body'.", 'body');
    lines.push({ custom_id: line.custom_id, body: line.body });
  });
  if (lines.length === 0 && errors.length === 0) fail(null, 'empty_file', 'The input file has no requests.');
  if (lines.length > MAX_LINES) fail(null, 'too_many_requests', `A batch holds at most ${MAX_LINES} requests; this file has ${lines.length}.`);
  const models = new Set(lines.map((l) => l.body.model));
  if (models.size > 1) fail(null, 'mixed_model', `All requests of a batch must use the same model; found ${[...models].map((m) => JSON.stringify(m)).join(', ')}.`, 'body.model');
  return { lines, errors };
}
