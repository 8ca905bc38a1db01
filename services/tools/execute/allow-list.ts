import { isIP } from 'node:net';
import { AppError } from '../../../src/errors.js';
import { isPrivateAddress } from './private-address.js';

/**
 * TOOLS_HTTP_ALLOW: the only base URLs real tool execution (`http`, `mcp`) may call.
 * A URL passes when it has an entry's scheme, host and port and its path is the entry's path or
 * below it on a segment boundary (`/v1` admits `/v1` and `/v1/x`, not `/v10`). Both sides go
 * through the WHATWG URL parser first, so `http://2130706433/`, `http://0x7f.1/` and `HTTP://Api.X`
 * are compared in the form a client would connect to. Userinfo is refused outright:
 * `http://allowed@evil/` is a request to `evil`.
 */
export interface AllowedBase {
  /** `scheme://host[:port]` as URL.origin writes it (default port dropped, host lower-cased). */
  origin: string;
  hostname: string;
  /** No trailing slash; `''` for the root. */
  pathPrefix: string;
}

/** A URL the allow list (or the address it resolves to) does not admit. */
export class ToolUrlRefused extends Error {
  readonly code = 'ETOOLURLREFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'ToolUrlRefused';
  }
}

const ENCODED_SEPARATOR = /%2f|%5c/i;

function parseHttpUrl(raw: string | URL): URL | string {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    return `${String(raw)} is not an absolute URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} URLs are not allowed (http and https only)`;
  if (url.username || url.password) return `URLs with credentials (user@host) are not allowed`;
  return url;
}

/** Why an allow-list entry is unusable, or undefined when it is fine (config reads this at boot). */
export function allowEntryError(entry: string): string | undefined {
  const url = parseHttpUrl(entry);
  if (typeof url === 'string') return `"${entry}": ${url}`;
  if (url.search || url.hash) return `"${entry}": a base URL takes no query or fragment`;
  if (ENCODED_SEPARATOR.test(url.pathname)) return `"${entry}": encoded slashes are not allowed in a base URL`;
  return undefined;
}

/** Parses TOOLS_HTTP_ALLOW entries; config has already refused bad ones, so this throws only on programming errors. */
export function parseAllowList(entries: readonly string[]): AllowedBase[] {
  return entries.map((entry) => {
    const problem = allowEntryError(entry);
    const url = parseHttpUrl(entry);
    if (problem || typeof url === 'string') throw new Error(`TOOLS_HTTP_ALLOW: ${problem ?? url}`);
    return { origin: url.origin, hostname: url.hostname, pathPrefix: url.pathname.replace(/\/+$/, '') };
  });
}

const underPrefix = (path: string, prefix: string) => prefix === '' || path === prefix || path.startsWith(`${prefix}/`);

/** The path a server that decodes `%2F`, `%5C` and `%2E` would see, dot segments resolved. */
function decodedPath(pathname: string): string {
  const out: string[] = [];
  for (const raw of pathname.replace(/%2f|%5c/gi, '/').split('/')) {
    const segment = raw.replace(/%2e/gi, '.');
    if (segment === '..') out.pop();
    else if (segment !== '.' && segment !== '') out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * The entry a URL falls under, or a ToolUrlRefused saying why none does. Encoded slashes and
 * backslashes are read as separators too (many servers decode them), and the path must stay under
 * the prefix both ways, so `/v1/..%2Fadmin` cannot climb out of `/v1`.
 */
export function matchAllowList(raw: string | URL, allow: readonly AllowedBase[]): AllowedBase | ToolUrlRefused {
  const url = parseHttpUrl(raw);
  if (typeof url === 'string') return new ToolUrlRefused(url);
  const decoded = decodedPath(url.pathname);
  const entry = allow.find((a) => a.origin === url.origin && underPrefix(url.pathname, a.pathPrefix) && underPrefix(decoded, a.pathPrefix));
  if (entry) return entry;
  if (allow.length === 0) return new ToolUrlRefused(`${url.origin}${url.pathname} refused: TOOLS_HTTP_ALLOW is empty`);
  return new ToolUrlRefused(`${url.origin}${url.pathname} is not under a base URL listed in TOOLS_HTTP_ALLOW`);
}

/** Literal IP hosts of the allow list, normalised as the URL parser writes them (IPv6 without brackets). */
export function listedAddresses(allow: readonly AllowedBase[]): Set<string> {
  return new Set(allow.map((a) => unbracket(a.hostname)).filter((h) => isIP(h) !== 0));
}

export const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * Whether a host may be connected to at `address`: a public address always; a private, loopback,
 * link-local or metadata one only when that very address is a host in TOOLS_HTTP_ALLOW
 * (`http://127.0.0.1:8080`). A listed *name* that resolves to a private address is refused: DNS
 * is not the admin's word, and a name that turns private later is exactly DNS rebinding.
 */
export function addressError(host: string, address: string, listed: ReadonlySet<string>): ToolUrlRefused | undefined {
  if (!isPrivateAddress(address) || listed.has(address)) return undefined;
  const shown = host === address ? address : `${host} resolves to ${address}, which`;
  return new ToolUrlRefused(`${shown} is a private, loopback, link-local or metadata address not listed in TOOLS_HTTP_ALLOW (list the address itself to allow it)`);
}

/** Refuses, at request time, a real execution mode the service is not configured for. */
export function assertExecutionAllowed(mode: 'simulated' | 'http' | 'mcp', allow: readonly string[], field = 'execution.mode'): void {
  if (mode === 'simulated' || allow.length > 0) return;
  throw new AppError('validation_failed', `${field}: "${mode}" execution calls real endpoints, and TOOLS_HTTP_ALLOW is empty on this service`, [
    { field, message: `"${mode}" needs the base URLs it may call listed in TOOLS_HTTP_ALLOW; use "simulated", or ask the operator to set TOOLS_HTTP_ALLOW` },
  ]);
}

/** Refuses, at request time, a base URL or MCP server URL outside TOOLS_HTTP_ALLOW (the address check runs at connect time). */
export function assertUrlAllowed(field: string, url: string, allow: readonly string[]): void {
  const matched = matchAllowList(url, parseAllowList(allow));
  if (matched instanceof ToolUrlRefused) throw new AppError('validation_failed', `${field}: ${matched.message}`, [{ field, message: matched.message }]);
}
