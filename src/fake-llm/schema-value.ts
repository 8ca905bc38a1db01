// Builds values that validate against a JSON Schema, with strings lifted from the prompt so the
// output looks like an answer about the caller's text rather than lorem ipsum (or, in schema-only
// mode, random values that only the schema constrains: schema-random.ts).
import { hash, phrases, sentences } from './prompt-text.js';
import { randomText, randomValue } from './schema-random.js';
import { FORMATS, fitLength, isObj, num, resolve, typeOf, type Schema } from './schema-walk.js';

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
  /** Obey the schema and nothing else: random schema-valid values, nothing drawn from the prompt (schema-random.ts). */
  schemaOnly?: boolean;
  /** Top-level properties answered with these values instead (a pin rule matched the prompt: FakeLlmOptions.pins). */
  pinned?: Record<string, unknown>;
}

// Past this nesting depth only required properties and minItems are produced, so recursive
// $ref schemas (trees, linked lists) terminate.
const MAX_DEPTH = 8;
const QUESTION_KEY = /question|query|instruction|prompt/i;
const QUESTION_TEMPLATES = [
  (p: string) => `What does the text say about ${p}?`,
  (p: string) => `How does the text explain ${p}?`,
  (p: string) => `Why does the text mention ${p}?`,
];
const LABEL_LINE = /^\[([\w.-]{1,40})\]\s*$/;

/** Text a value is drawn from, with its sentences and (lazily) phrases. */
interface Source {
  text: string;
  sents: string[];
  phr?: string[];
}
const sourceOf = (text: string): Source => ({ text, sents: sentences(text) });

/** Each labelled item of the prompt (`[p1]` on a line of its own) and its text, up to a blank line or the next label. */
function labelledItems(text: string): Map<string, Source> {
  const items = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const label = LABEL_LINE.exec(line)?.[1];
    if (label) current = items.has(label) ? undefined : (items.set(label, []), items.get(label));
    else if (!line.trim()) current = undefined;
    else current?.push(line);
  }
  return new Map([...items].filter(([, lines]) => lines.length > 0).map(([label, lines]) => [label, sourceOf(lines.join('\n'))]));
}

export function valueFromSchema(schema: unknown, ctx: ValueContext): unknown {
  const value = ctx.schemaOnly ? randomValue(schema) : promptValue(schema, ctx);
  if (!ctx.pinned || !isObj(value)) return value;
  // Only properties the answer has: a pin never adds a key the schema does not allow.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Object.hasOwn(ctx.pinned!, k) ? ctx.pinned![k] : v]));
}

function promptValue(schema: unknown, ctx: ValueContext): unknown {
  const root = isObj(schema) ? schema : {};
  const main = sourceOf(ctx.source);
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
  // A property named like a label (`{"p1": {...}}`) answers that item, from that item's text.
  const items = labelledItems(ctx.all ?? ctx.source);

  const text = (key: string, path: string, slot: number, src: Source): string => {
    // `id` echoes an item's label; `connections` (topic graphs) name labelled nodes of the prompt.
    if ((key === 'id' || key === 'connections') && labels.length > 0) return labels[slot % labels.length];
    if (QUESTION_KEY.test(key)) {
      const phr = (src.phr ??= phrases(src.text));
      const { item } = pick(phr, path, slot);
      const template = QUESTION_TEMPLATES[(hash(`${ctx.seed}:${path}#q`) + slot) % QUESTION_TEMPLATES.length];
      return label + template(item);
    }
    const { sents } = src;
    const { i, item } = pick(sents, path, slot);
    const two = sents.length > 1 && hash(`${ctx.seed}:${path}#2`) % 2 === 1;
    return label + (two ? `${item} ${sents[(i + 1) % sents.length]}` : item);
  };

  const build = (raw: unknown, key: string, path: string, slot: number, depth: number, src: Source): unknown => {
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
          build(tuple ? (tuple[k] ?? s.additionalItems ?? {}) : s.items, key, `${path}[]`, slot * 31 + k, depth + 1, src),
        );
      }
      case 'object': {
        const out: Record<string, unknown> = {};
        const required: string[] = Array.isArray(s.required) ? s.required : [];
        for (const [name, sub] of Object.entries(isObj(s.properties) ? s.properties : {})) {
          if (depth >= MAX_DEPTH && !required.includes(name)) continue;
          out[name] = build(sub, name, `${path}.${name}`, slot, depth + 1, items.get(name) ?? src);
        }
        return out;
      }
      default: {
        const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
        if (format) return format(h);
        return fitLength(text(key, path, slot, src), num(s.minLength), num(s.maxLength));
      }
    }
  };

  return build(root, '', '$', 0, 0, main);
}

/** A teacher that ignores the schema's keys: the last one skipped, an unknown `item` key instead, the rest in reverse order. */
export function misalign(value: unknown): unknown {
  if (!isObj(value)) return value;
  const entries = Object.entries(value);
  const last = entries.pop();
  return Object.fromEntries([...entries.reverse(), ...(last ? [['item', last[1]]] : [])]);
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
  if (ctx.schemaOnly) return randomText();
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

/** Syntactically invalid JSON that still looks like the start of the real answer. */
export function brokenJson(json: string): string {
  // '<' is illegal outside a string and leaves any open string unterminated, so parsing always fails.
  return `${json.slice(0, Math.floor(json.length / 2))} <<garbled`;
}
