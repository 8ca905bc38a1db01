// Builds values that validate against a JSON Schema, with strings lifted from the prompt so the
// output looks like an answer about the caller's text rather than lorem ipsum.
import { hash, phrases, sentences } from './prompt-text.js';

export interface ValueContext {
  /** Text the strings are drawn from (usually the last user message). */
  source: string;
  /** The whole prompt; item labels (`[p1]`) are looked up here, inside or outside the passage. */
  all?: string;
  /** Answer arrays with two more items than asked (up to maxItems): a teacher that overdoes it. */
  overfill?: boolean;
  /** Per-request seed: the same request body yields the same value. */
  seed: number;
  /** Prefixed to every generated free-text string, e.g. "[offline placeholder] ". */
  label?: string;
}

type Schema = Record<string, any>;

// Past this nesting depth only required properties and minItems are produced, so recursive
// $ref schemas (trees, linked lists) terminate.
const MAX_DEPTH = 8;
const QUESTION_KEY = /question|query|instruction|prompt/i;
const QUESTION_TEMPLATES = [
  (p: string) => `What does the text say about ${p}?`,
  (p: string) => `How does the text explain ${p}?`,
  (p: string) => `Why does the text mention ${p}?`,
];
const FORMATS: Record<string, (h: number) => string> = {
  'date-time': () => '2024-01-01T00:00:00Z',
  date: () => '2024-01-01',
  time: () => '12:00:00',
  email: () => 'fake@example.com',
  uri: () => 'https://example.com/fake',
  url: () => 'https://example.com/fake',
  uuid: (h) => `00000000-0000-4000-8000-${h.toString(16).padStart(12, '0').slice(-12)}`,
};

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function valueFromSchema(schema: unknown, ctx: ValueContext): unknown {
  const root = isObj(schema) ? schema : {};
  const sents = sentences(ctx.source);
  let phr: string[] | undefined;
  const label = ctx.label ?? '';
  // `slot` folds array indices in, so sibling items get different sentences while the rest of
  // the path (without indices) keeps each field's pick stable.
  const pick = <T>(list: T[], path: string, slot: number) => {
    const i = (hash(`${ctx.seed}:${path}`) + slot) % list.length;
    return { i, item: list[i] };
  };

  // Items the prompt labels `[p1]`, `[p2]`, … are answered in order, echoing their labels in an
  // `id` field, as a real teacher asked to echo ids does.
  // Deduplicated: a feedback turn may quote the labels again.
  const labels = [...new Set([...(ctx.all ?? ctx.source).matchAll(/^\[([\w.-]{1,40})\]\s*$/gm)].map((m) => m[1]))];

  const text = (key: string, path: string, slot: number): string => {
    // `id` echoes an item's label; `connections` (topic graphs) name labelled nodes of the prompt.
    if ((key === 'id' || key === 'connections') && labels.length > 0) return labels[slot % labels.length];
    if (QUESTION_KEY.test(key)) {
      phr ??= phrases(ctx.source);
      const { item } = pick(phr, path, slot);
      const template = QUESTION_TEMPLATES[(hash(`${ctx.seed}:${path}#q`) + slot) % QUESTION_TEMPLATES.length];
      return label + template(item);
    }
    const { i, item } = pick(sents, path, slot);
    const two = sents.length > 1 && hash(`${ctx.seed}:${path}#2`) % 2 === 1;
    return label + (two ? `${item} ${sents[(i + 1) % sents.length]}` : item);
  };

  const build = (raw: unknown, key: string, path: string, slot: number, depth: number): unknown => {
    const s = resolve(raw, root);
    const type = typeOf(s);
    const h = hash(`${ctx.seed}:${path}`) + slot;
    switch (type) {
      case 'const':
        return s.const;
      case 'enum':
        return s.enum.find((v: unknown) => v !== null) ?? s.enum[0];
      case 'null':
        return null;
      case 'boolean':
        return h % 2 === 0;
      case 'integer':
      case 'number':
        return numberFor(s, type === 'integer', h);
      case 'array': {
        const min = num(s.minItems) ?? (depth >= MAX_DEPTH ? 0 : 2);
        const length = Math.max(0, Math.min(min + (ctx.overfill && depth === 1 ? 2 : 0), num(s.maxItems) ?? Infinity));
        const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
        return Array.from({ length }, (_, k) =>
          build(tuple ? (tuple[k] ?? s.additionalItems ?? {}) : s.items, key, `${path}[]`, slot * 31 + k, depth + 1),
        );
      }
      case 'object': {
        const out: Record<string, unknown> = {};
        const required: string[] = Array.isArray(s.required) ? s.required : [];
        for (const [name, sub] of Object.entries(isObj(s.properties) ? s.properties : {})) {
          if (depth >= MAX_DEPTH && !required.includes(name)) continue;
          out[name] = build(sub, name, `${path}.${name}`, slot, depth + 1);
        }
        return out;
      }
      default: {
        const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
        if (format) return format(h);
        return fitLength(text(key, path, slot), num(s.minLength), num(s.maxLength));
      }
    }
  };

  return build(root, '', '$', 0, 0);
}

/** Valid JSON that breaks the schema: first required field missing, every other field the wrong type. */
export function violateSchema(schema: unknown): unknown {
  const root = isObj(schema) ? schema : {};
  const s = resolve(root, root);
  if (typeOf(s) !== 'object' || !isObj(s.properties)) return wrongValue(s);
  const firstRequired = Array.isArray(s.required) ? s.required[0] : undefined;
  const out: Record<string, unknown> = {};
  for (const [name, sub] of Object.entries(s.properties)) {
    if (name !== firstRequired) out[name] = wrongValue(resolve(sub, root));
  }
  return out;
}

/** A few consecutive sentences of the source, for answers without a schema. */
export function textAnswer(ctx: ValueContext, count = 3): string {
  const sents = sentences(ctx.source);
  const start = ctx.seed % sents.length;
  const picked = Array.from({ length: Math.min(count, sents.length) }, (_, k) => sents[(start + k) % sents.length]);
  return (ctx.label ?? '') + picked.join(' ');
}

function wrongValue(s: Schema): unknown {
  switch (typeOf(s)) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not a number';
    case 'boolean':
      return 'not a boolean';
    case 'array':
      return 'not an array';
    case 'object':
      return 'not an object';
    case 'null':
      return 0;
    default:
      return '__fake_invalid_value__';
  }
}

function fitLength(value: string, min?: number, max?: number): string {
  let out = value || 'text';
  while (min !== undefined && out.length < min) out = `${out} ${value}`;
  if (max !== undefined && out.length > max) {
    // Keep a question recognisable as one after trimming.
    out = out.endsWith('?') && max > 1 ? `${out.slice(0, max - 1).trimEnd()}?` : out.slice(0, max);
  }
  return out;
}

function numberFor(s: Schema, integer: boolean, h: number): number {
  const step = integer ? 1 : 0.01;
  let lo = num(s.minimum);
  let hi = num(s.maximum);
  // Draft 6+ uses numbers for the exclusive bounds, draft 4 uses booleans next to minimum/maximum.
  if (num(s.exclusiveMinimum) !== undefined) lo = Math.max(lo ?? -Infinity, s.exclusiveMinimum + step);
  else if (s.exclusiveMinimum === true && lo !== undefined) lo += step;
  if (num(s.exclusiveMaximum) !== undefined) hi = Math.min(hi ?? Infinity, s.exclusiveMaximum - step);
  else if (s.exclusiveMaximum === true && hi !== undefined) hi -= step;
  if (lo === undefined && hi === undefined) [lo, hi] = [1, 10];
  lo ??= hi! - 9;
  hi ??= lo + 9;
  const multiple = num(s.multipleOf);
  if (multiple) {
    const first = Math.ceil(lo / multiple) * multiple;
    return first <= hi ? first : lo;
  }
  if (integer) {
    const [a, b] = [Math.ceil(lo), Math.floor(hi)];
    return b < a ? a : a + (h % (b - a + 1));
  }
  const value = Math.round((lo + ((h % 1000) / 1000) * (hi - lo)) * 100) / 100;
  return Math.min(hi, Math.max(lo, value));
}

function typeOf(s: Schema): string {
  if ('const' in s) return 'const';
  if (Array.isArray(s.enum) && s.enum.length) return 'enum';
  if (Array.isArray(s.type)) return s.type.find((t: unknown) => t !== 'null') ?? 'null';
  if (typeof s.type === 'string') return s.type;
  if (isObj(s.properties) || Array.isArray(s.required)) return 'object';
  if ('items' in s || 'prefixItems' in s) return 'array';
  return 'string';
}

/** Follows $ref, merges allOf and picks the first non-null anyOf/oneOf branch until a plain schema remains. */
function resolve(raw: unknown, root: Schema, hops = 0): Schema {
  if (!isObj(raw) || hops > 32) return {};
  const { $ref, allOf, anyOf, oneOf, ...rest } = raw;
  if (typeof $ref === 'string') {
    // Siblings of $ref (descriptions, extra constraints) apply on top of the target.
    const merged: Schema = { ...deref(root, $ref), ...rest };
    for (const [k, v] of Object.entries({ allOf, anyOf, oneOf })) if (v !== undefined) merged[k] = v;
    return resolve(merged, root, hops + 1);
  }
  const branches = Array.isArray(anyOf) ? anyOf : Array.isArray(oneOf) ? oneOf : undefined;
  if (branches) {
    const options = branches.map((b: unknown) => resolve(b, root, hops + 1));
    const chosen = options.find((o: Schema) => typeOf(o) !== 'null') ?? options[0] ?? {};
    return resolve(allOf ? { ...rest, ...chosen, allOf } : { ...rest, ...chosen }, root, hops + 1);
  }
  if (Array.isArray(allOf)) {
    return allOf.map((part: unknown) => resolve(part, root, hops + 1)).reduce(mergeSchemas, rest);
  }
  return rest;
}

function mergeSchemas(a: Schema, b: Schema): Schema {
  return {
    ...a,
    ...b,
    ...(a.properties || b.properties ? { properties: { ...a.properties, ...b.properties } } : {}),
    ...(a.required || b.required ? { required: [...(a.required ?? []), ...(b.required ?? [])] } : {}),
  };
}

function deref(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const token of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObj(node) || Array.isArray(node) ? (node as any)[key] : undefined;
  }
  return isObj(node) ? node : {};
}

/** Syntactically invalid JSON that still looks like the start of the real answer. */
export function brokenJson(json: string): string {
  // '<' is illegal outside a string and leaves any open string unterminated, so parsing always fails.
  return `${json.slice(0, Math.floor(json.length / 2))} <<garbled`;
}
