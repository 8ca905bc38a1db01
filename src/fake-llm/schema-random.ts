// The fake teacher's schema-only mode: what constrained decoding on a small local model gives —
// a value the schema allows and nothing more. Nothing is drawn from the prompt (no labels echoed,
// no passage quoted), keys come in random order, arrays have a random allowed length, and every
// enum value, branch, number and boolean is picked at random.
import { FORMATS, fitLength, isObj, num, resolve, typeOf, type Schema } from './schema-walk.js';

// Past this depth only required properties and minItems are produced, so recursive schemas end.
const MAX_DEPTH = 8;
/** Arrays without maxItems get at most this many items beyond minItems. */
const EXTRA_ITEMS = 3;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'so', 'dra', 'mon', 'tel', 'bri', 'qua', 'xen'];

const int = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pickOne = <T>(list: T[]): T => list[int(0, list.length - 1)];

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

const word = () => Array.from({ length: int(2, 4) }, () => pickOne(SYLLABLES)).join('');

/** 3–12 made-up words: never empty, never from the prompt. */
export const randomText = () => Array.from({ length: int(3, 12) }, word).join(' ');

/** A value valid against `schema`, picked at random. */
export function randomValue(schema: unknown): unknown {
  const root = isObj(schema) ? schema : {};
  return build(root, root, 0);
}

/** A random branch of anyOf/oneOf (null included), then the rest of the resolution as usual. */
function choose(raw: unknown, root: Schema): Schema {
  if (!isObj(raw)) return {};
  const branches = Array.isArray(raw.anyOf) ? raw.anyOf : Array.isArray(raw.oneOf) ? raw.oneOf : undefined;
  if (branches?.length) {
    const { anyOf: _a, oneOf: _o, ...rest } = raw;
    return choose({ ...rest, ...choose(pickOne(branches), root) }, root);
  }
  return resolve(raw, root);
}

function build(raw: unknown, root: Schema, depth: number): unknown {
  const s = choose(raw, root);
  const type = Array.isArray(s.type) && !('enum' in s) && !('const' in s) ? pickOne(s.type as string[]) : typeOf(s);
  switch (type) {
    case 'const':
      return s.const;
    case 'enum':
      return pickOne(s.enum);
    case 'null':
      return null;
    case 'boolean':
      return Math.random() < 0.5;
    case 'integer':
    case 'number':
      return randomNumber(s, type === 'integer');
    case 'array': {
      const min = num(s.minItems) ?? 0;
      const max = depth >= MAX_DEPTH ? min : Math.max(min, num(s.maxItems) ?? min + EXTRA_ITEMS);
      const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
      return Array.from({ length: int(min, max) }, (_, k) => build(tuple ? (tuple[k] ?? s.additionalItems ?? {}) : s.items, root, depth + 1));
    }
    case 'object': {
      const required: string[] = Array.isArray(s.required) ? s.required : [];
      const names = Object.keys(isObj(s.properties) ? s.properties : {}).filter((n) => required.includes(n) || (depth < MAX_DEPTH && Math.random() < 0.5));
      return Object.fromEntries(shuffle(names).map((n) => [n, build(s.properties[n], root, depth + 1)]));
    }
    default: {
      const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
      if (format) return format(int(0, 2 ** 31));
      return fitLength(randomText(), num(s.minLength), num(s.maxLength));
    }
  }
}

function randomNumber(s: Schema, integer: boolean): number {
  const step = integer ? 1 : 0.01;
  let lo = num(s.minimum) ?? -Infinity;
  let hi = num(s.maximum) ?? Infinity;
  if (num(s.exclusiveMinimum) !== undefined) lo = Math.max(lo, s.exclusiveMinimum + step);
  else if (s.exclusiveMinimum === true) lo += step;
  if (num(s.exclusiveMaximum) !== undefined) hi = Math.min(hi, s.exclusiveMaximum - step);
  else if (s.exclusiveMaximum === true) hi -= step;
  if (lo === -Infinity) lo = hi === Infinity ? 0 : hi - 100;
  if (hi === Infinity) hi = lo + 100;
  const multiple = num(s.multipleOf);
  if (multiple) {
    const [first, last] = [Math.ceil(lo / multiple), Math.floor(hi / multiple)];
    return last < first ? lo : int(first, last) * multiple;
  }
  if (integer) {
    const [a, b] = [Math.ceil(lo), Math.floor(hi)];
    return b < a ? a : int(a, b);
  }
  return Math.min(hi, Math.max(lo, Math.round((lo + Math.random() * (hi - lo)) * 100) / 100));
}
