import { LIMITS } from '../../limits.js';
import type { JsonSchemaObject } from '../tool.js';
import { badTool, isObject } from './normalise.js';

/** The value a local `$ref` (`#/components/schemas/Pet`) points at, or undefined. */
export function pointerTarget(doc: unknown, ref: string): unknown {
  if (ref === '#') return doc;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(node) && /^\d+$/.test(token)) node = node[Number(token)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else return undefined;
  }
  return node;
}

/** `#/components/schemas/Pet` → `definition.components.schemas.Pet`, so an error names where a faulty ref sits. */
const refField = (root: string, ref: string) => `${root}${ref.slice(1).replace(/\//g, '.')}`;

/** What checking an operation's refs shares across the document: each ref's expanded size, once. */
export interface RefScan {
  doc: Record<string, unknown>;
  root: string;
  sizes: Map<string, number>;
  /** Refs being expanded now: meeting one again is recursion, counted once and cut later by copySchema. */
  open: Set<string>;
}

/**
 * Every `$ref` one operation reaches, followed through the document before anything is resolved:
 * a ref outside the document (a file or a URL) is refused, never fetched, and one that points at
 * nothing is a 400 naming the tool, the ref and where it sits. Returns the JSON nodes the value
 * has with its refs inlined, so a document whose refs expand exponentially is refused before the
 * parser spends its time on it.
 */
export function checkRefs(scan: RefScan, node: unknown, field: string, tool: string): number {
  if (Array.isArray(node)) return node.reduce<number>((n, item, i) => n + checkRefs(scan, item, `${field}[${i}]`, tool), 1);
  if (!isObject(node)) return 1;
  let size = 1;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    if (!ref.startsWith('#')) throw badTool(`${field}.$ref`, tool, `$ref "${ref}" points outside the document; only refs inside it (#/…) are resolved, never files or URLs`);
    const known = scan.sizes.get(ref);
    if (known !== undefined) size += known;
    else if (!scan.open.has(ref)) {
      const target = pointerTarget(scan.doc, ref);
      if (target === undefined) throw badTool(`${field}.$ref`, tool, `$ref "${ref}" cannot be resolved: the document has nothing at that pointer`);
      scan.open.add(ref);
      const expanded = checkRefs(scan, target, refField(scan.root, ref), tool);
      scan.open.delete(ref);
      scan.sizes.set(ref, expanded);
      size += expanded;
    }
  }
  for (const [key, value] of Object.entries(node)) {
    // Examples are data, not schemas: a `$ref` key inside one is a value like any other.
    if (key === '$ref' || key === 'example' || key === 'examples') continue;
    size += checkRefs(scan, value, `${field}.${key}`, tool);
    if (size > LIMITS.toolSchemaNodes) break;
  }
  return size;
}

/** The set's schemas are refused once their refs expand past LIMITS.toolSchemaNodes. */
export function schemaNodesBound(field: string, tool: string) {
  return badTool(field, tool, `the document's $refs expand to more than ${LIMITS.toolSchemaNodes.toLocaleString('en-US')} schema nodes`);
}

export interface SchemaCopy {
  /** The document after @readme/openapi-parser's dereference: recursive refs are still `$ref`s. */
  doc: Record<string, unknown>;
  /** OpenAPI 3.0 `nullable: true` becomes a JSON Schema type list (3.1 already speaks JSON Schema). */
  openapi30: boolean;
  tool: string;
  warnings: string[];
  /** Nodes copied so far for the whole set, against LIMITS.toolSchemaNodes. */
  budget: { nodes: number };
  field: string;
}

/**
 * A tool's own copy of a schema, plain JSON Schema: a recursive `$ref` (which the parser leaves in
 * place) is inlined once along each path and then cut to an unconstrained schema with a warning,
 * so every tool's schema stands alone without `components`.
 */
export function copySchema(value: unknown, ctx: SchemaCopy, path: string[] = []): unknown {
  if (++ctx.budget.nodes > LIMITS.toolSchemaNodes) {
    throw schemaNodesBound(ctx.field, ctx.tool);
  }
  if (Array.isArray(value)) return value.map((v) => copySchema(v, ctx, path));
  if (!isObject(value)) return value;
  const ref = value.$ref;
  if (typeof ref === 'string') {
    if (path.includes(ref)) {
      ctx.warnings.push(`${ctx.tool}: recursive schema ${ref} is cut after one level (unconstrained below)`);
      return {};
    }
    const { $ref: _ref, ...siblings } = value;
    const target = pointerTarget(ctx.doc, ref);
    const resolved = copySchema(target, ctx, [...path, ref]);
    return isObject(resolved) ? { ...resolved, ...copyObject(siblings, ctx, path) } : resolved;
  }
  const out: JsonSchemaObject = {};
  for (const [key, v] of Object.entries(value)) out[key] = copySchema(v, ctx, path);
  if (ctx.openapi30) fromOpenApi30(out);
  return out;
}

/**
 * OpenAPI 3.0's own schema dialect → JSON Schema (what 3.1, validators and providers read):
 * `nullable: true` becomes a type list, boolean `exclusiveMinimum`/`exclusiveMaximum` (draft 4)
 * become the numeric bound they qualify.
 */
function fromOpenApi30(schema: JsonSchemaObject): void {
  if (schema.nullable === true) {
    if (typeof schema.type === 'string') schema.type = [schema.type, 'null'];
    else if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
  }
  if (typeof schema.nullable === 'boolean') delete schema.nullable;
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof schema[flag] !== 'boolean') continue;
    if (schema[flag] === true && typeof schema[bound] === 'number') {
      schema[flag] = schema[bound];
      delete schema[bound];
    } else delete schema[flag];
  }
}

/** A schema copied and known to be an object (a copy of an object is one). */
export function copyObject(value: Record<string, unknown>, ctx: SchemaCopy, path: string[] = []): JsonSchemaObject {
  const out = copySchema(value, ctx, path);
  return isObject(out) ? out : {};
}
