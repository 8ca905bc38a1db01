import { readFileSync } from 'node:fs';
import { validatorCompiler } from '../../src/http/validation.js';

/**
 * Malformed requests generated from the committed OpenAPI contract, so a new route or field is
 * fuzzed without touching the suite. Every case is invalid by construction (candidates are checked
 * against the schema with the app's own validator), and says which field the 400 must name.
 */

export type Family = 'types' | 'sizes' | 'unstorable' | 'prototype' | 'encodings' | 'cursors' | 'ids';

export interface Case {
  family: Family;
  label: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send these bytes on a raw socket (requests an HTTP client refuses to send). */
  raw?: Buffer;
  /** Statuses that are right for this case (all 4xx). */
  statuses: number[];
  /** The error's details must name one of these fields (or a field inside one); empty: no field is at fault. */
  fields?: string[];
}

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  /** On a union variant: `{ required: [field] }` members, exactly one of which must hold (its source). */
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
};

interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  schema: Schema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { contentTypes: string[]; schema: Schema };
}

export function loadOperations(file: string): Operation[] {
  const contract = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>> };
  return Object.entries(contract.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody ? { contentTypes: Object.keys(op.requestBody.content), schema: op.requestBody.content['application/json']?.schema ?? Object.values(op.requestBody.content)[0].schema } : undefined,
    })),
  );
}

const compile = validatorCompiler();
// One compiled validator per schema and part: the app's compiler prepares a fresh schema each call, so Ajv's own cache misses.
const compiled = new Map<string, WeakMap<Schema, (v: unknown) => boolean>>();
const accepts = (schema: Schema, value: unknown, part: 'body' | 'querystring' | 'headers') => {
  const byPart = compiled.get(part) ?? compiled.set(part, new WeakMap()).get(part)!;
  let validate = byPart.get(schema);
  if (!validate) {
    validate = compile({ schema: part === 'body' ? schema : { type: 'object', properties: { v: schema } }, httpPart: part, method: 'POST', url: '/' }) as (v: unknown) => boolean;
    byPart.set(schema, validate);
  }
  return validate(part === 'body' ? structuredClone(value) : { v: value });
};

/** Ids the seeded service has, by prefix, so a path or body id reaches the handler. */
export type Seeds = Record<'run' | 'ds' | 'tp', string>;

const seededId = (pattern: string | undefined, seeds: Seeds) => {
  const prefix = /^\^([a-z]+)_/.exec(pattern ?? '')?.[1] as keyof Seeds | undefined;
  return prefix ? seeds[prefix] : undefined;
};

/** The fields a `oneOf` of `{ required: [...] }` members requires: the member naming `want`, else the first. */
const oneOfRequired = (schema: Schema, want?: string): string[] => {
  const members = (schema.oneOf ?? []).map((m) => m.required ?? []);
  return members.find((r) => want !== undefined && r.includes(want)) ?? members[0] ?? [];
};

/**
 * The smallest value the schema accepts (first branch of a union, required fields only). `want`: the
 * field about to be set, so a variant's source union is satisfied by that field, not by another.
 */
export function example(schema: Schema, seeds: Seeds, want?: string): unknown {
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return example(schema.anyOf[0], seeds, want);
  switch (schema.type) {
    case 'object': {
      const required = [...(schema.required ?? []), ...oneOfRequired(schema, want)];
      return Object.fromEntries(required.map((k) => [k, example(schema.properties![k], seeds)]));
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => example(schema.items ?? {}, seeds));
    case 'string':
      return seededId(schema.pattern, seeds) ?? 'x'.repeat(Math.max(schema.minLength ?? 1, 2));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return {};
  }
}

/** A body field to fuzz: its path, its schema, and the schema of each container on the way (a union's variant where it went through one). */
interface Field {
  path: string[];
  schema: Schema;
  containers: Schema[];
}

const objectVariants = (s: Schema) => (s.anyOf ?? []).filter((b) => b.type === 'object' && b.properties);

/**
 * Body fields at any depth through objects, arrays of objects and unions of objects (each variant):
 * `documents.0.name`, `generate.turns`. A field the same in several variants is fuzzed once.
 */
function bodyFields(schema: Schema, seen: Set<string>, path: string[] = [], containers: Schema[] = []): Field[] {
  const out: Field[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const p = [...path, key];
    const id = `${p.join('.')} ${JSON.stringify(child)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path: p, schema: child, containers });
    if (child.type === 'object' && child.properties) out.push(...bodyFields(child, seen, p, [...containers, child]));
    if (child.type === 'array' && child.items?.type === 'object' && child.items.properties) out.push(...bodyFields(child.items, seen, [...p, '0'], [...containers, child, child.items]));
    for (const variant of objectVariants(child)) out.push(...bodyFields(variant, seen, p, [...containers, variant]));
  }
  return out;
}

/** The root example with `value` at the field, building the containers on the way from their schemas. */
function withValue(root: Schema, field: Field, value: unknown, seeds: Seeds): unknown {
  const { path, containers } = field;
  const body = example(root, seeds, path[0]) as Record<string, unknown>;
  let node: Record<string, unknown> = body;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const schema = containers[i];
    const existing = node[key];
    // Where a union is crossed, what the example holds may be another variant: rebuilt from the one being fuzzed.
    const parent = i === 0 ? root : containers[i - 1];
    const keep = existing && typeof existing === 'object' && !parent.properties?.[key]?.anyOf;
    const child = keep ? existing : schema.type === 'array' ? [example(schema.items ?? {}, seeds)] : example(schema, seeds, path[i + 1]);
    node[key] = child;
    node = child as Record<string, unknown>;
  });
  return body;
}

const TWO_TO_63 = 9223372036854775808;

const PLACEHOLDER = '\u0001placeholder\u0001';

const WRONG_TYPES: unknown[] = [12345, 'not-a-valid-value', true, {}, [], 2.5, null];

function sizeCandidates(s: Schema): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (s.maxLength !== undefined) out.push([`string of ${s.maxLength + 1}`, 'x'.repeat(s.maxLength + 1)]);
  if (s.minLength !== undefined && s.minLength > 0) out.push([`string of ${s.minLength - 1}`, 'x'.repeat(s.minLength - 1)]);
  if (s.maxItems !== undefined) out.push([`array of ${s.maxItems + 1}`, Array.from({ length: s.maxItems + 1 }, () => (s.items?.type === 'string' ? 'x' : s.items?.type === 'array' ? ['x'] : {}))]);
  if (s.maximum !== undefined) out.push([`${s.maximum} + 1`, s.maximum + 1]);
  if (s.minimum !== undefined) out.push([`${s.minimum} - 1`, s.minimum - 1]);
  if (s.type === 'integer' || s.type === 'number') out.push(['2^63', TWO_TO_63]);
  return out;
}

const UNSTORABLE: Array<[string, string]> = [
  ['NUL', 'a\u0000b'],
  ['unpaired high surrogate', 'a\ud800b'],
  ['unpaired low surrogate', '\udc00'],
];

const stringLike = (s: Schema) => s.type === 'string' || (s.anyOf ?? []).some(stringLike) || (s.type === undefined && !s.anyOf && !s.properties);

/** Cases for the body of one operation. */
export function bodyCases(op: Operation, url: string, seeds: Seeds): Case[] {
  if (!op.body) return [];
  const cases: Case[] = [];
  const json = (value: unknown) => JSON.stringify(value);
  const post = (family: Family, label: string, body: string | Buffer, statuses: number[], fields?: string[], contentType = 'application/json') =>
    cases.push({ family, label, method: op.method, url, headers: { 'content-type': contentType }, body, statuses, fields });
  const branches = op.body.schema.anyOf?.filter((b) => b.type === 'object') ?? (op.body.schema.type === 'object' ? [op.body.schema] : []);
  const seen = new Set<string>();
  for (const branch of branches) {
    for (const f of bodyFields(branch, seen)) {
      const { path, schema } = f;
      const field = path.join('.');
      for (const wrong of WRONG_TYPES) {
        const body = withValue(branch, f, wrong, seeds);
        if (!accepts(op.body.schema, body, 'body')) post('types', `${field} = ${json(wrong)}`, json(body), [400], [field]);
      }
      for (const [label, value] of sizeCandidates(schema)) {
        const body = withValue(branch, f, value, seeds);
        // 2^63 is sent even where the schema would take it: every number a caller chooses has a documented bound.
        if (value === TWO_TO_63 || !accepts(op.body.schema, body, 'body')) post('sizes', `${field}: ${label}`, json(body), [400, 413], [field]);
      }
      if (stringLike(schema)) {
        for (const [label, value] of UNSTORABLE) post('unstorable', `${label} in ${field}`, json(withValue(branch, f, value, seeds)), [400], [field]);
      }
      if (schema.type === 'object' || schema.type === 'array' || objectVariants(schema).length > 0) {
        // The object goes at the field (or as the first item of an array field), spliced in as text:
        // JSON.stringify cannot write a __proto__ key.
        const at = schema.type === 'array' ? [...path, '0'] : path;
        const inside = { path: at, schema, containers: schema.type === 'array' ? [...f.containers, schema] : f.containers };
        const spliced = (rawObject: string) => json(withValue(branch, inside, PLACEHOLDER, seeds)).replace(JSON.stringify(PLACEHOLDER), rawObject);
        post('unstorable', `NUL in a key under ${field}`, spliced(json({ 'k\u0000': 1 })), [400], [`${at.join('.')}.k\\u0000`]);
        post('unstorable', `surrogate in a key under ${field}`, spliced(json({ 'k\udfff': 1 })), [400], [`${at.join('.')}.k\\udfff`]);
        post('prototype', `__proto__ under ${field}`, spliced('{"__proto__":{"polluted":true}}'), [400], [`${at.join('.')}.__proto__`]);
        post('prototype', `constructor.prototype under ${field}`, spliced('{"constructor":{"prototype":{"polluted":true}}}'), [400], [`${at.join('.')}.constructor`]);
      }
    }
    const rest = json(example(branch, seeds)).slice(1, -1);
    const withFirstKey = (key: string, rawValue: string) => `{${JSON.stringify(key)}:${rawValue}${rest ? `,${rest}` : ''}}`;
    post('unstorable', 'NUL in a top-level key', withFirstKey('k\u0000', '"v"'), [400], ['k\\u0000']);
    post('prototype', 'top-level __proto__', withFirstKey('__proto__', '{"polluted":true}'), [400], ['__proto__']);
    post('prototype', 'top-level constructor', withFirstKey('constructor', '{"prototype":{"polluted":true}}'), [400], ['constructor']);
  }
  const valid = json(example(op.body.schema, seeds));
  const media = (label: string, type: string, body: string | Buffer, statuses: number[], fields?: string[]) => post('encodings', label, body, statuses, fields, type);
  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream']) media(type, type, valid, [415], ['body']);
  if (!op.body.contentTypes.some((t) => t.includes('yaml'))) media('YAML where it is not accepted', 'application/yaml', 'a: 1\n', [415], ['body']);
  media('truncated JSON', 'application/json', valid.slice(0, -1) || '{', [400], ['body']);
  media('empty JSON body', 'application/json', '', [400], ['body']);
  media('JSON in UTF-16LE', 'application/json; charset=utf-16le', Buffer.from(`\ufeff${valid}`, 'utf16le'), [400, 415]);
  media('invalid UTF-8 bytes', 'application/json', Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), [400]);
  media('raw NUL byte in JSON', 'application/json', Buffer.from('{"x":"a\0b"}'), [400], ['body']);
  // The root is level 1, so the array at x.0.0… that is level 101 is the one named.
  media('100,000 levels of nesting', 'application/json', `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, [400], [`x${'.0'.repeat(99)}`]);
  if (op.body.contentTypes.includes('application/x-ndjson')) {
    const lines = (label: string, text: string | Buffer, field: string) => post('unstorable', `JSONL: ${label}`, text, [400], [field], 'application/x-ndjson');
    // Lines carry a topic path too, so a tree import (which needs one) reads them as far as a dataset import does.
    lines('NUL escape', '{"path":["r"],"q":"a"}\n{"path":["r"],"q":"b\\u0000"}\n', 'line.2.q');
    lines('surrogate escape in a key', '{"k\\ud800":"a"}\n', 'line.1.k\\ud800');
    lines('raw NUL byte', Buffer.from('{"q":"a\0"}\n'), 'line.1');
    lines('__proto__ key', '{"__proto__":{"polluted":true}}\n', 'line.1.__proto__');
    lines('BOM, then a broken line', '\ufeff{"path":["r"],"q":"a"}\n{"q":\n', 'line.2');
    lines('101 levels of nesting', `{"path":["r"],"x":${'['.repeat(100)}${']'.repeat(100)}}\n`, `line.1.x${'.0'.repeat(99)}`);
  }
  media('body over the limit', 'application/json', `{"x":"${'y'.repeat(2 * 1024 * 1024)}"}`, [413], ['body']);
  return cases;
}

/** Query and header cases of one operation; `base` is the request that would otherwise pass. */
export function parameterCases(op: Operation, url: string, seeds: Seeds): Case[] {
  const cases: Case[] = [];
  const body = op.body ? JSON.stringify(example(op.body.schema, seeds)) : undefined;
  const headers = op.body ? { 'content-type': 'application/json' } : undefined;
  const withQuery = (name: string, raw: string) => `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(name)}=${raw}`;
  for (const p of op.parameters.filter((x) => x.in === 'query')) {
    const add = (family: Family, label: string, raw: string, statuses = [400], fields = [p.name]) =>
      cases.push({ family, label: `?${p.name} ${label}`, method: op.method, url: withQuery(p.name, raw), headers, body, statuses, fields });
    for (const wrong of ['abc', '1.5', 'true', '-1', '{}', '0x10', '１２']) if (!accepts(p.schema, wrong, 'querystring')) add('types', `= ${wrong}`, encodeURIComponent(wrong));
    for (const [label, value] of sizeCandidates(p.schema)) {
      const text = typeof value === 'string' ? value : String(value);
      if (value === TWO_TO_63 || !accepts(p.schema, text, 'querystring')) add('sizes', label, encodeURIComponent(text), text.length > 8000 ? [414] : [400], text.length > 8000 ? ['url'] : [p.name]);
    }
    add('unstorable', 'with NUL', 'a%00b');
    add('unstorable', 'with an encoded surrogate (not UTF-8)', '%ED%A0%80');
    add('unstorable', 'with a lone continuation byte', 'a%80');
    if (/^(cursor|before|after|limit)$/.test(p.name)) {
      // Past any cursor a database can hold: refused whatever the schema says.
      for (const value of ['9223372036854775808', '99999999999999999999']) add('cursors', `= ${value}`, value);
      for (const value of ['-1', '1e3', 'NaN', 'ds_zzzzzzzzzzzzzzzzzzzzzzzz']) if (!accepts(p.schema, value, 'querystring')) add('cursors', `= ${value}`, value);
    }
  }
  if (op.parameters.some((x) => x.in === 'query') || op.method === 'GET') {
    for (const key of ['__proto__', 'constructor']) cases.push({ family: 'prototype', label: `?${key}=`, method: op.method, url: withQuery(key, '1'), headers, body, statuses: [400], fields: [key] });
  }
  for (const p of op.parameters.filter((x) => x.in === 'header')) {
    const add = (family: Family, label: string, value: string) => cases.push({ family, label: `${p.name}: ${label}`, method: op.method, url, headers: { ...headers, [p.name]: value }, body, statuses: [400], fields: [p.name] });
    for (const wrong of ['abc', 'wait=soon', '', '-1']) if (!accepts(p.schema, wrong, 'headers')) add(p.name === 'last-event-id' ? 'cursors' : 'types', JSON.stringify(wrong), wrong);
    if (p.name === 'last-event-id') for (const cursor of ['2147483648', '9223372036854775808']) add('cursors', cursor, cursor);
    for (const [label, value] of sizeCandidates(p.schema)) if (typeof value === 'string' && !accepts(p.schema, value, 'headers')) add('sizes', label, value);
    // A NUL cannot be sent by an HTTP client; Node's parser refuses it (400 in the error shape).
    const head = `${op.method} ${url} HTTP/1.1\r\nHost: x\r\n${p.name}: a\0b\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body ?? '')}\r\n${headers ? 'Content-Type: application/json\r\n' : ''}\r\n${body ?? ''}`;
    cases.push({ family: 'unstorable', label: `${p.name}: NUL byte`, method: op.method, url, raw: Buffer.from(head, 'latin1'), statuses: [400], fields: ['request'] });
  }
  return cases;
}

/** Broken path ids: wrong shape, wrong kind, encodings, lengths, and a well-formed id that does not exist. */
export function pathCases(op: Operation, seeds: Seeds): Case[] {
  const cases: Case[] = [];
  const body = op.body ? JSON.stringify(example(op.body.schema, seeds)) : undefined;
  const headers = op.body ? { 'content-type': 'application/json' } : undefined;
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    const prefix = /^\^([a-z]+)_/.exec(p.schema.pattern ?? '')?.[1] ?? 'x';
    const other = prefix === 'ds' ? seeds.run : seeds.ds;
    const at = (raw: string) => op.path.replace(`{${p.name}}`, raw);
    const add = (label: string, raw: string, statuses: number[], fields: string[]) => cases.push({ family: 'ids', label: `${p.name} ${label}`, method: op.method, url: resolvePath(at(raw), seeds, op), headers, body, statuses, fields });
    if (!/^\^[a-z]+_/.test(p.schema.pattern ?? '')) {
      // Not an id (an export's file path): only what no path may hold, and a path that is not there.
      add('with NUL', 'a%00b', [400], [p.name]);
      add('with a surrogate (not UTF-8)', '%ED%A0%80', [400], ['url']);
      add('with a dot-dot path', '..%2F..%2Fetc%2Fpasswd', [400], [p.name]);
      add('of 101 characters', 'a'.repeat(101), [414], ['url']);
      add('that does not exist', 'missing.txt', [404], []);
      continue;
    }
    add('= x', 'x', [400], [p.name]);
    add('in upper case', `${prefix.toUpperCase()}_0123456789ABCDEF01234567`, [400], [p.name]);
    add('one digit short', `${prefix}_0123456789abcdef0123456`, [400], [p.name]);
    add('of another kind', other, [400], [p.name]);
    add('with NUL', `${prefix}_%00`, [400], [p.name]);
    add('with a surrogate (not UTF-8)', '%ED%A0%80', [400], ['url']);
    add('with a broken escape', '%E0%A4%A', [400], ['url']);
    add('with a dot-dot path', '..%2F..%2Fetc%2Fpasswd', [400], [p.name]);
    add('of 101 characters', 'a'.repeat(101), [414], ['url']);
    // 404 naming the id; the WebSocket route answers a plain GET with 426 before looking the run up.
    add('that does not exist', `${prefix}_ffffffffffffffffffffffff`, [404, 426], op.path.endsWith('/ws') ? [] : [p.name]);
  }
  return cases;
}

/** The operation's path with its parameters set to the seeded ids. */
export function resolvePath(path: string, seeds: Seeds, op: Operation): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => seededId(op.parameters.find((p) => p.name === name)?.schema.pattern, seeds) ?? 'x');
}
