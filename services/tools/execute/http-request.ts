import type { Tool } from '../tool.js';

/** One HTTP request built from an OpenAPI operation's tool and the arguments of a call. */
export interface HttpToolRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export type BuiltRequest = { ok: true; request: HttpToolRequest } | { ok: false; reason: string };

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** Headers neither an argument nor a job may set: they frame the connection (or pick the virtual host), not the call. */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection']);

const scalar = (value: unknown): string => (typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));

/** A path segment value, encoded so `/`, `?` and `#` stay inside it. */
const pathSegment = (value: unknown): string => encodeURIComponent(scalar(value));

/** Values URL parsers read as dot segments even encoded (`%2E%2E`): they would move the call up the path. */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

/**
 * Places each argument where the operation's `origin.http.locations` says: `{name}` in the path
 * (encoded), the query string (arrays repeated, OpenAPI's default `form`/`explode`), a header, or
 * a property of the JSON (or form-encoded) body, or the whole body when it is `body_argument`. The base is the job's `baseUrl` when given, else
 * the document's first server. An argument without a location is refused rather than dropped.
 */
export function buildHttpRequest(tool: Tool, args: Record<string, unknown>, baseUrl: string | undefined): BuiltRequest {
  const http = tool.origin.http;
  if (!http) return { ok: false, reason: `tool ${tool.name} is not an HTTP operation (its definition is ${tool.origin.format}); http execution needs OpenAPI tools` };
  const method = http.method.toUpperCase();
  if (!METHODS.has(method)) return { ok: false, reason: `tool ${tool.name}: unsupported HTTP method ${http.method}` };
  const base = baseUrl ?? http.server;
  if (!base) return { ok: false, reason: `tool ${tool.name}: no base URL (the OpenAPI document lists no server and the job gave none)` };
  if (/[{}]/.test(base)) return { ok: false, reason: `tool ${tool.name}: base URL ${base} has unfilled server variables; give the job a base URL` };
  let root: URL;
  try {
    root = new URL(base);
  } catch {
    return { ok: false, reason: `tool ${tool.name}: base URL ${base} is not absolute; give the job a base URL` };
  }

  const missing: string[] = [];
  const dots: string[] = [];
  const path = http.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (args[name] === undefined || args[name] === null) missing.push(name);
    else if (DOT_SEGMENT.test(scalar(args[name]))) dots.push(name);
    return pathSegment(args[name]);
  });
  if (missing.length > 0) return { ok: false, reason: `tool ${tool.name}: missing path parameter ${missing.join(', ')}` };
  if (dots.length > 0) return { ok: false, reason: `tool ${tool.name}: path parameter ${dots.join(', ')} may not be "." or ".."` };

  const query = new URLSearchParams(root.search);
  const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.8' };
  const properties: Record<string, unknown> = {};
  let hasBody = false;
  for (const [name, value] of Object.entries(args)) {
    const location = http.locations[name];
    if (location === undefined) return { ok: false, reason: `tool ${tool.name}: argument ${name} is not a parameter of ${method} ${http.path}` };
    if (value === undefined) continue;
    if (location === 'query') {
      if (value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) query.append(name, scalar(item));
    } else if (location === 'header') {
      if (FORBIDDEN_HEADERS.has(name.toLowerCase())) return { ok: false, reason: `tool ${tool.name}: argument ${name} may not be sent as a header` };
      if (value !== null) headers[name.toLowerCase()] = scalar(value).replace(/[\r\n]+/g, ' ');
    } else if (location === 'body') {
      properties[name] = value;
      hasBody = true;
    }
  }

  const search = query.toString();
  const url = new URL(`${root.origin}${root.pathname.replace(/\/+$/, '')}${path}${search ? `?${search}` : ''}`);
  if (!hasBody) return { ok: true, request: { url, method, headers } };
  const contentType = http.body_content_type ?? 'application/json';
  // `body_argument`: that one argument is the whole body (an array, a scalar, or an object whose names clash with parameters).
  const body = http.body_argument === undefined ? properties : properties[http.body_argument];
  if (http.body_argument !== undefined && body === undefined) return { ok: true, request: { url, method, headers } };
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.entries(body) : [];
    const form = new URLSearchParams(fields.filter(([, v]) => v !== null).map(([k, v]) => [k, scalar(v)]));
    return { ok: true, request: { url, method, headers: { ...headers, 'content-type': contentType }, body: form.toString() } };
  }
  if (!/json/i.test(contentType)) return { ok: false, reason: `tool ${tool.name}: request bodies of type ${contentType} are not supported (JSON and form-encoded are)` };
  return { ok: true, request: { url, method, headers: { ...headers, 'content-type': contentType }, body: JSON.stringify(body) } };
}
