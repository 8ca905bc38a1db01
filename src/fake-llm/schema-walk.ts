// Reading JSON Schemas the way the fake teacher needs: resolving $ref/allOf/anyOf to a plain
// schema, naming its type, and the string formats and lengths both value builders share.

export type Schema = Record<string, any>;

export const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export const FORMATS: Record<string, (h: number) => string> = {
  'date-time': () => '2024-01-01T00:00:00Z',
  date: () => '2024-01-01',
  time: () => '12:00:00',
  email: () => 'fake@example.com',
  uri: () => 'https://example.com/fake',
  url: () => 'https://example.com/fake',
  uuid: (h) => `00000000-0000-4000-8000-${h.toString(16).padStart(12, '0').slice(-12)}`,
};

export function fitLength(value: string, min?: number, max?: number): string {
  let out = value || 'text';
  while (min !== undefined && out.length < min) out = `${out} ${value}`;
  if (max !== undefined && out.length > max) {
    // Keep a question recognisable as one after trimming.
    out = out.endsWith('?') && max > 1 ? `${out.slice(0, max - 1).trimEnd()}?` : out.slice(0, max);
  }
  return out;
}

export function typeOf(s: Schema): string {
  if ('const' in s) return 'const';
  if (Array.isArray(s.enum) && s.enum.length) return 'enum';
  if (Array.isArray(s.type)) return s.type.find((t: unknown) => t !== 'null') ?? 'null';
  if (typeof s.type === 'string') return s.type;
  if (isObj(s.properties) || Array.isArray(s.required)) return 'object';
  if ('items' in s || 'prefixItems' in s) return 'array';
  return 'string';
}

/** Follows $ref, merges allOf and picks the first non-null anyOf/oneOf branch until a plain schema remains. */
export function resolve(raw: unknown, root: Schema, hops = 0): Schema {
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
