// Small HTTP helpers for the fake LLM server: JSON responses, body reading, the model list.
import type http from 'node:http';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MODELS = ['fake-gpt-4o-mini', 'fake-claude-sonnet'];

/** Writes a JSON response unless the client already went away; returns whether it was sent. */
export function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): boolean {
  if (res.headersSent || res.destroyed) return false;
  const text = JSON.stringify(body);
  const requestId = `req_fake_${Date.now().toString(36)}`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId, // read by the OpenAI SDK
    'request-id': requestId, // read by the Anthropic SDK
    ...headers,
  });
  res.end(text);
  return true;
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The OpenAI and Anthropic SDKs expect differently shaped model lists. */
export function modelList(anthropic: boolean) {
  const created = 1_700_000_000;
  if (anthropic) {
    const data = MODELS.map((id) => ({ type: 'model', id, display_name: id, created_at: new Date(created * 1000).toISOString() }));
    return { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id };
  }
  return { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created, owned_by: 'fake-llm' })) };
}
