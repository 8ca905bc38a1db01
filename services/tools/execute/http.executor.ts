import { request } from 'undici';
import type { ExecutionResult, Tool, ToolExecutor } from '../tool.js';
import { matchAllowList, parseAllowList, ToolUrlRefused } from './allow-list.js';
import { createGuardedAgent, type Resolver } from './guarded-agent.js';
import { buildHttpRequest, FORBIDDEN_HEADERS, type HttpToolRequest } from './http-request.js';
import { callFailure, readCapped, refused } from './outcome.js';

/** A tool response larger than this is refused (a tool result goes into a prompt and a record). */
export const MAX_TOOL_RESPONSE_BYTES = 1024 * 1024;
/** Redirects followed per call, each to a URL the allow list admits. */
export const MAX_TOOL_REDIRECTS = 3;

export interface HttpExecutorOptions {
  /** TOOLS_HTTP_ALLOW entries. */
  allow: readonly string[];
  /** The whole call: connect, redirects and body. */
  timeoutMs: number;
  /** The job's base URL; else each tool's `origin.http.server`. */
  baseUrl?: string;
  /** Sent with every call (credentials for the API); they win over header arguments. */
  headers?: Record<string, string>;
  maxResponseBytes?: number;
  /** DNS for the connect-time address check (tests). */
  resolve?: Resolver;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Not sent on to another origin when a redirect leaves the first one. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Really calls OpenAPI operations (`execution.mode: "http"`). Every URL, the first and each
 * redirect's, must fall under TOOLS_HTTP_ALLOW, and every connection goes through the guarded
 * agent, so a listed name that resolves to a private address is refused before a byte is sent.
 * 2xx: the body (JSON parsed, else text) is the result. 4xx: not retryable (408 and 429 are).
 * 5xx, timeouts and connection errors: retryable. `execute` throws only when `signal` aborts.
 */
export function createHttpExecutor(options: HttpExecutorOptions): ToolExecutor & { close(): Promise<void> } {
  const allow = parseAllowList(options.allow);
  const agent = createGuardedAgent({ allow, resolve: options.resolve, connectTimeoutMs: options.timeoutMs });
  const maxBytes = options.maxResponseBytes ?? MAX_TOOL_RESPONSE_BYTES;
  const fixedHeaders = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const badHeader = Object.keys(fixedHeaders).find((k) => FORBIDDEN_HEADERS.has(k));

  async function send(first: HttpToolRequest, signal: AbortSignal): Promise<ExecutionResult> {
    let { url, method, body } = first;
    let headers = { ...first.headers, ...fixedHeaders };
    for (let hop = 0; ; hop++) {
      const matched = matchAllowList(url, allow);
      if (matched instanceof ToolUrlRefused) return refused(hop === 0 ? matched.message : `redirect refused: ${matched.message}`);
      const res = await request(url, { method, headers, body, signal, dispatcher: agent });
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
        await res.body.dump();
        if (hop >= MAX_TOOL_REDIRECTS) return refused(`more than ${MAX_TOOL_REDIRECTS} redirects`);
        const next = new URL(location, url);
        if (res.statusCode === 303 || (method === 'POST' && res.statusCode !== 307 && res.statusCode !== 308)) {
          method = 'GET';
          body = undefined;
          const { 'content-type': _dropped, ...rest } = headers;
          headers = rest;
        }
        if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k)));
        url = next;
        continue;
      }
      const read = await readCapped(res.body, res.headers['content-length'], maxBytes);
      if (!read.ok) return read;
      return outcome(res.statusCode, String(res.headers['content-type'] ?? ''), read.text);
    }
  }

  return {
    mode: 'http',
    async execute(tool: Tool, args: Record<string, unknown>, signal: AbortSignal): Promise<ExecutionResult> {
      if (badHeader) return refused(`the job's header ${badHeader} may not be set`);
      const built = buildHttpRequest(tool, args, options.baseUrl);
      if (!built.ok) return refused(built.reason);
      const timeout = AbortSignal.timeout(options.timeoutMs);
      try {
        return await send(built.request, AbortSignal.any([signal, timeout]));
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        return callFailure(err, timeout.aborted, options.timeoutMs);
      }
    },
    close: () => agent.close(),
  };
}

function outcome(status: number, contentType: string, text: string): ExecutionResult {
  const result = parseBody(contentType, text);
  if (status >= 200 && status < 300) return { ok: true, result };
  const snippet = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  const reason = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  return { ok: false, reason, retryable: status >= 500 || status === 408 || status === 429 };
}

function parseBody(contentType: string, text: string): unknown {
  if (text === '') return null;
  if (!/json/i.test(contentType)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
