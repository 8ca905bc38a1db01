import type { JsonSchemaObject } from './tool.js';
import { isRecord } from '../../src/plain-object.js';

/**
 * Words of tool, parameter and property names, as the dependency graph compares them:
 * `fileId`, `file_id`, `file-id` and `File IDs` all read as `file id`.
 */

/** Plural → singular, rough but applied to both sides alike, so `paths` meets `path`. */
function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) return word.slice(0, -1);
  return word;
}

const FILLER = new Set(['by', 'for', 'of', 'the', 'a', 'an', 'all', 'from', 'to', 'with', 'in', 'on']);

/** An identifier's words: split at `_`, `-`, spaces and camelCase humps, lower-cased, singular, fillers dropped. */
export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => singular(w.toLowerCase()))
    .filter((w) => w !== '' && !FILLER.has(w));
}

export const key = (ws: readonly string[]) => ws.join(' ');

/** Verbs a tool name starts with that say "gives you X": `get_file_id` is about `file id`. */
const LEADING_VERBS = new Set([
  'get', 'fetch', 'read', 'list', 'find', 'search', 'lookup', 'retrieve', 'load', 'create', 'make', 'add', 'new',
  'open', 'compute', 'calculate', 'generate', 'query', 'describe', 'show', 'resolve',
]);

/**
 * What a tool's name says it gives, when it starts with such a verb: `get_file_id` → `file id`,
 * `listTasks` → `task`; `delete_task` gives nothing by its name.
 */
export function givenByName(toolName: string): string[] | undefined {
  const ws = words(toolName);
  return ws.length > 1 && LEADING_VERBS.has(ws[0]) ? ws.slice(1) : undefined;
}

/**
 * Candidate names in free text: identifiers as written (`file_id`, `userId`), each word, and each
 * pair of adjacent words (`access mode`), so a returns description naming a parameter is found.
 */
export function namesInText(text: string): string[][] {
  const found = new Map<string, string[]>();
  const add = (ws: string[]) => {
    if (ws.length > 0) found.set(key(ws), ws);
  };
  const plain: string[] = [];
  for (const token of text.match(/[A-Za-z][A-Za-z0-9_]*/g) ?? []) {
    const ws = words(token);
    if (ws.length > 1) add(ws);
    for (const w of ws) plain.push(w);
  }
  plain.forEach((w, i) => {
    add([w]);
    if (i + 1 < plain.length) add([w, plain[i + 1]]);
  });
  return [...found.values()];
}

/** JSON Schema types of a schema, `null` aside; none (or `any`) reads as `any`. */
export function typesOf(schema: unknown): string[] {
  if (!isRecord(schema)) return ['any'];
  const t = schema.type;
  const list = (Array.isArray(t) ? t : [t]).filter((x): x is string => typeof x === 'string' && x !== 'null');
  return list.length === 0 || list.includes('any') ? ['any'] : list;
}

/**
 * The seed's compatibility table and scores, on JSON Schema types (the definitions parser has
 * already turned Generator's `path`/`file` into `string`): 1.0 the same type, 0.8 a target that
 * takes any value, 0.6 compatible (integer → number; a source of unknown type → anything), else 0.
 */
export function typeScore(source: readonly string[], target: readonly string[]): number {
  let best = 0;
  for (const s of source)
    for (const t of target) {
      const score = s === t && s !== 'any' ? 1 : t === 'any' ? 0.8 : (s === 'integer' && t === 'number') || s === 'any' ? 0.6 : 0;
      best = Math.max(best, score);
    }
  return best;
}

/**
 * How strongly a source name names a parameter: 1.0 the same words; 0.8 when the parameter's
 * words end the source's (`dataset_path` → `path`: a more specific value fits a general slot);
 * 0.5 the other way round (`path` → `dataset_path`: plausible, not certain); else 0.
 */
export function nameScore(source: readonly string[], parameter: readonly string[], exactOnly = false): number {
  if (source.length === 0 || parameter.length === 0) return 0;
  if (exactOnly) return source.length === parameter.length && endsWith(source, parameter) ? 1 : 0;
  if (source.length === parameter.length && endsWith(source, parameter)) return 1;
  if (endsWith(source, parameter)) return 0.8;
  if (endsWith(parameter, source)) return 0.5;
  return 0;
}

function endsWith(long: readonly string[], short: readonly string[]): boolean {
  if (long.length < short.length) return false;
  for (let i = 0; i < short.length; i++) if (long[long.length - short.length + i] !== short[i]) return false;
  return true;
}

/** Properties of an object schema, in name order (so the graph never depends on key order). */
export function propertiesOf(schema: JsonSchemaObject | undefined): Array<[string, unknown]> {
  const props = schema && isRecord(schema.properties) ? schema.properties : {};
  return Object.keys(props)
    .sort()
    .map((k) => [k, props[k]]);
}

export const requiredOf = (schema: JsonSchemaObject): Set<string> =>
  new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);

export const descriptionOf = (schema: unknown): string =>
  isRecord(schema) ? [schema.title, schema.description].filter((s): s is string => typeof s === 'string').join(' ') : '';

export const itemsOf = (schema: unknown): JsonSchemaObject | undefined =>
  isRecord(schema) && isRecord(schema.items) ? schema.items : undefined;
