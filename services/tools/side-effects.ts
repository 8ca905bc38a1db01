import type { Tool } from './tool.js';
import { words } from './tool-words.js';

/**
 * Whether a tool may be called in parallel with another: only calls that change nothing can run
 * in one step without an order between them. The rule, first that applies:
 * 1. MCP annotations: `readOnlyHint: true` → yes; `readOnlyHint: false` or `destructiveHint: true` → no.
 * 2. An OpenAPI operation: GET, HEAD and OPTIONS → yes; any other method → no.
 * 3. An MCP tool without a hint → no (the MCP spec's default for `readOnlyHint` is false).
 * 4. Otherwise (Generator's JSON, OpenAI tools) the name decides: any word that changes state
 *    (`open`, `set`, `delete`, `optimize`, …) → no; else a word that reads (`get`, `list`, `read`,
 *    `find`, `scan`, …) → yes; else the category reads as a read-only area (`navigation`,
 *    `discovery`, `search`, …) → yes; else no. Unsure means no: a wrong "no" only loses a parallel step.
 */

const WRITES = new Set([
  'open', 'close', 'set', 'create', 'write', 'delete', 'remove', 'update', 'put', 'post', 'patch', 'send', 'insert', 'add',
  'move', 'rename', 'upload', 'start', 'stop', 'kill', 'run', 'exec', 'execute', 'reset', 'clear', 'save', 'modify',
  'append', 'drop', 'enable', 'disable', 'install', 'uninstall', 'commit', 'push', 'apply', 'cancel', 'submit', 'book',
  'pay', 'buy', 'order', 'edit', 'assign', 'register', 'deploy', 'restart', 'optimize', 'truncate', 'purge', 'lock', 'unlock',
  'mount', 'unmount', 'publish', 'approve', 'reject', 'archive', 'restore', 'import', 'export', 'sync', 'copy', 'merge',
]);

const READS = new Set([
  'get', 'list', 'read', 'find', 'search', 'lookup', 'fetch', 'query', 'describe', 'show', 'count', 'check', 'analyze',
  'analyse', 'suggest', 'identify', 'scan', 'visit', 'inspect', 'view', 'aggregate', 'compute', 'calculate', 'estimate',
  'compare', 'validate', 'retrieve', 'browse', 'explore', 'preview', 'summarize', 'stat', 'info', 'status', 'detect',
]);

const READ_AREAS = new Set(['navigation', 'discovery', 'search', 'query', 'lookup', 'retrieval', 'information', 'info', 'inspection', 'monitoring', 'analytic', 'read']);

const METHODS_WITHOUT_EFFECT = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sideEffectFree(tool: Tool): boolean {
  const hints = tool.origin.annotations;
  if (hints?.readOnlyHint === true) return true;
  if (hints?.readOnlyHint === false || hints?.destructiveHint === true) return false;
  const http = tool.origin.http;
  if (http) return METHODS_WITHOUT_EFFECT.has(http.method.toUpperCase());
  if (tool.origin.format === 'mcp') return false;
  const name = words(tool.name);
  if (name.some((w) => WRITES.has(w))) return false;
  if (name.some((w) => READS.has(w))) return true;
  return words(tool.category).some((w) => READ_AREAS.has(w));
}
