// OpenAI /v1/embeddings for the fake teacher: vectors deterministic from the text alone and crudely
// semantic, like a small real embedding model, so paraphrase and dedup tests mean something.
import { hash } from './prompt-text.js';

export const DEFAULT_EMBEDDING_DIMS = 256;
const MAX_INPUTS = 2048;
const MAX_DIMS = 8192;

/** Words that carry no topic: dropped, so "How do X work?" and "How does a X work?" read alike. */
const STOP_WORDS = new Set(
  ('a an the and or but if of to in on at by for with from as into about over under is are was were be been being am do does did doing done ' +
    'have has had having can could will would shall should may might must i you he she it we they me him her us them my your his its our their ' +
    'this that these those what which who whom whose when where why how not no yes so than then there here all any some such each very just also too ' +
    // The labels of Quarry's embedding text (Question:, Answer:, USER:, ...) are its template, not its topic.
    'question answer reasoning user assistant system').split(' '),
);

/** Light stemming: plural, -ing and -ed forms, and a final e, fold onto one stem (leases, lease → leas). */
export function stem(word: string): string {
  let w = word;
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ied')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 3 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

const cache = new Map<string, Float32Array>();

/** A pseudo-random unit direction seeded by the feature (random directions in many dimensions are nearly orthogonal). */
function direction(feature: string, dims: number): Float32Array {
  const key = `${dims}:${feature}`;
  let v = cache.get(key);
  if (v) return v;
  v = new Float32Array(dims);
  let s = hash(feature) || 1;
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[i] = ((s >>> 0) / 0xffffffff) * 2 - 1;
    norm += v[i] * v[i];
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i] *= inv;
  if (cache.size > 50_000) cache.clear();
  cache.set(key, v);
  return v;
}

function addScaled(into: Float64Array, v: Float32Array, weight: number): void {
  for (let i = 0; i < into.length; i++) into[i] += v[i] * weight;
}

function unit(v: Float64Array): Float64Array {
  let n = 0;
  for (const x of v) n += x * x;
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= Math.sqrt(n);
  return v;
}

/**
 * The fake model: each content word's stem adds its own direction (sublinear in repeats), and a
 * smaller weight of the words' character trigrams adds spelling similarity; unit length. So the
 * same words in another order or inflection score ≥ 0.9, unrelated texts near 0.
 */
export function fakeEmbedding(text: string, dims = DEFAULT_EMBEDDING_DIMS): number[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  let content = words.filter((w) => !STOP_WORDS.has(w));
  if (content.length === 0) content = words.length > 0 ? words : [text];
  const stems = new Map<string, number>();
  for (const w of content) {
    const s = stem(w);
    stems.set(s, (stems.get(s) ?? 0) + 1);
  }
  const wordPart = new Float64Array(dims);
  for (const [s, n] of stems) addScaled(wordPart, direction(`w:${s}`, dims), 1 + Math.log(n));
  const grams = new Set<string>();
  for (const w of new Set(content)) {
    const padded = ` ${w} `;
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  }
  const gramPart = new Float64Array(dims);
  for (const g of grams) addScaled(gramPart, direction(`g:${g}`, dims), 1);
  const out = unit(wordPart);
  const grams01 = unit(gramPart);
  for (let i = 0; i < dims; i++) out[i] += 0.35 * grams01[i];
  return Array.from(unit(out));
}

export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions: number;
  base64: boolean;
}

/** The request as OpenAI checks it, or the 400 message. */
export function readEmbeddingRequest(body: Record<string, unknown>): EmbeddingRequest | string {
  if (typeof body.model !== 'string' || !body.model) return "'model' is required";
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_INPUTS) return `'input' must be a string or an array of 1 to ${MAX_INPUTS} strings`;
  if (!input.every((t) => typeof t === 'string' && t.length > 0)) return "'$.input' is invalid: every input must be a non-empty string";
  const dims = body.dimensions ?? DEFAULT_EMBEDDING_DIMS;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS) return `'dimensions' must be an integer from 1 to ${MAX_DIMS}`;
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return "'encoding_format' must be 'float' or 'base64'";
  return { model: body.model, input, dimensions: dims, base64: format === 'base64' };
}

const base64 = (v: number[]) => Buffer.from(Float32Array.from(v).buffer).toString('base64');

/** The answer in the OpenAI wire format; tokens counted as about four characters each. */
export function embeddingResponse(req: EmbeddingRequest) {
  const tokens = req.input.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
  return {
    object: 'list',
    data: req.input.map((text, index) => {
      const v = fakeEmbedding(text, req.dimensions);
      return { object: 'embedding', index, embedding: req.base64 ? base64(v) : v };
    }),
    model: req.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
