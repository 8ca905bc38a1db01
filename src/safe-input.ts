import { AppError } from './errors.js';

/**
 * What a request may carry, checked before any work so that nothing is accepted that Postgres
 * cannot store or that would turn into a 500 later: NUL (Postgres text and jsonb cannot hold it),
 * unpaired UTF-16 surrogates (not Unicode; jsonb refuses them), keys that reach into prototypes,
 * and nesting deep enough to overflow JSON.stringify when the value is stored.
 */
export const MAX_NESTING = 100;

/** Keys that name an object's prototype machinery; refused wherever they appear in a body. */
const REFUSED_KEYS = new Set(['__proto__', 'constructor']);

// Without the `u` flag a regex sees UTF-16 code units, so unpaired surrogates are visible.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ES2024, in Node since 20; not yet in the TypeScript lib this project targets.
type WellFormed = string & { isWellFormed(): boolean };

export interface Refusal {
  field: string;
  message: string;
}

/** The fast test; `stringProblem` says why. */
const unacceptable = (s: string) => s.includes('\0') || !(s as WellFormed).isWellFormed();

/** Why a string cannot be accepted, or undefined when it can. */
export function stringProblem(s: string): string | undefined {
  if (s.includes('\0')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if ((s as WellFormed).isWellFormed()) return undefined;
  const surrogate = LONE_SURROGATE.exec(s);
  if (surrogate) return `contains an unpaired UTF-16 surrogate (\\u${surrogate[0].charCodeAt(0).toString(16)}), which is not valid Unicode`;
  return undefined;
}

/** A key as it appears in a field path: characters that cannot be shown are written as escapes. */
const printable = (key: string) =>
  key.replace(/[\u0000-\u001f\uD800-\uDFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function keyProblem(key: string): string | undefined {
  if (REFUSED_KEYS.has(key)) return `the key ${key} is not allowed`;
  const problem = stringProblem(key);
  return problem && `the key ${problem}`;
}

/**
 * The first value that cannot be accepted, shallowest first (in document order within a level), with
 * its path: `documents.0.name`. `root` names the value itself (`body`, a query parameter, `line.3`)
 * and prefixes the paths. Breadth-first over flat arrays: no recursion for deep input to overflow,
 * and no path is built unless something is refused (a 10 MB body costs about what parsing it did).
 */
export function findRefusal(value: unknown, root = ''): Refusal | undefined {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    return problem ? { field: root || 'body', message: problem } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  // Container i is nodes[i], reached from nodes[parents[i]] by keys[i], at depth depths[i].
  const nodes: object[] = [value];
  const parents: number[] = [-1];
  const keys: string[] = [''];
  const depths: number[] = [1];
  const refuse = (i: number, key: string, message: string): Refusal => {
    const parts = [key];
    for (let j = i; j > 0; j = parents[j]) parts.push(keys[j]);
    if (root) parts.push(root);
    return { field: parts.reverse().map(printable).join('.'), message };
  };
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Record<string, unknown>;
    const array = Array.isArray(node);
    for (const key in node) {
      if (!array && (REFUSED_KEYS.has(key) || unacceptable(key))) return refuse(i, key, keyProblem(key)!);
      const child = node[key];
      if (typeof child === 'string') {
        if (unacceptable(child)) return refuse(i, key, stringProblem(child)!);
      } else if (child !== null && typeof child === 'object') {
        if (depths[i] >= MAX_NESTING) return refuse(i, key, `nests deeper than ${MAX_NESTING} levels`);
        nodes.push(child);
        parents.push(i);
        keys.push(key);
        depths.push(depths[i] + 1);
      }
    }
  }
  return undefined;
}

export function refusalError(refusal: Refusal): AppError {
  return new AppError('validation_failed', `${refusal.field}: ${refusal.message}`, [{ field: refusal.field, message: refusal.message }]);
}

/** Throws a 400 naming the first value that cannot be accepted. */
export function assertAcceptable(value: unknown, root = ''): void {
  const refusal = findRefusal(value, root);
  if (refusal) throw refusalError(refusal);
}

// A line that has none of these cannot hold NUL, a surrogate escape or a refused key once parsed:
// decoded UTF-8 never yields unpaired surrogates, so only `\u` escapes can produce one.
const SUSPECT_LINE = /\\u|__proto__|constructor|\0/;

/**
 * Checks JSON Lines text without parsing every line: only lines that could decode into something
 * refused are parsed. Lines that are not JSON are left to the service that reads them (its 400).
 */
export function findJsonLinesRefusal(text: string): Refusal | undefined {
  if (!SUSPECT_LINE.test(text)) return undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!SUSPECT_LINE.test(line)) continue;
    const field = `line.${i + 1}`;
    if (line.includes('\0')) return { field, message: stringProblem(line)! };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.replace(/^\uFEFF/, ''));
    } catch {
      continue;
    }
    const refusal = findRefusal(parsed, field);
    if (refusal) return refusal;
  }
  return undefined;
}

type Mendable = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * What Quarry did not get from a caller (a teacher's answer, a LanceDB row) is made storable rather
 * than refused: NUL is dropped and unpaired surrogates become U+FFFD, in keys as in values, so one
 * odd character never costs a record. Values without such characters are returned as they are.
 */
export function toStorable<T>(value: T): T {
  return findRefusal(value) ? (mend(value, 0) as T) : value;
}

function mend(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return unacceptable(value) ? (value.replaceAll('\0', '') as Mendable).toWellFormed() : value;
  if (value === null || typeof value !== 'object' || depth > MAX_NESTING) return value;
  if (Array.isArray(value)) return value.some((v) => typeof v === 'object' || typeof v === 'string') ? value.map((v) => mend(v, depth + 1)) : value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [mend(k, depth), mend(v, depth + 1)]));
}
