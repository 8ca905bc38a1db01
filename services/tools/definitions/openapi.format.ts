import { dereference } from '@readme/openapi-parser';
import type { JsonSchemaObject, Tool } from '../tool.js';
import { badTool, complexityOf, isObject, optionalReturns, optionalString, validToolName, type ParsedTools } from './normalise.js';
import { LIMITS } from '../../limits.js';
import { checkRefs, copyObject, schemaNodesBound, type RefScan, type SchemaCopy } from './openapi-refs.js';

/**
 * An OpenAPI 3.0/3.1 document: each operation is one tool. Path, query and header parameters and
 * the JSON body's properties merge into one arguments object, and `origin.http.locations` says
 * where each argument goes when the operation is really called. `$ref`s inside the document are
 * resolved by @readme/openapi-parser; refs to files or URLs are refused, never fetched.
 */

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Location = 'path' | 'query' | 'header' | 'body';
const LOCATIONS: readonly string[] = ['path', 'query', 'header'];

type ApiDocument = Extract<Parameters<typeof dereference>[0], object>;
/** What @readme/openapi-parser takes: the version and info it starts from are checked here. */
const isApiDocument = (doc: unknown): doc is ApiDocument => isObject(doc) && typeof doc.openapi === 'string' && isObject(doc.info);

/** A name every provider accepts, from an operationId that is not one or from the method and path. */
export function toolNameFrom(text: string): string {
  const name = text.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9_-]+/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '').slice(0, 64);
  return name === '' ? 'operation' : name;
}

/** JSON first, then any `+json`, then a form (its fields are an object too). */
function pickContent(content: unknown): { type: string; schema: Record<string, unknown> } | undefined {
  if (!isObject(content)) return undefined;
  const types = Object.keys(content);
  const type = types.find((t) => t.split(';')[0].trim() === 'application/json') ?? types.find((t) => /[/+]json\b/.test(t)) ?? types.find((t) => t.startsWith('application/x-www-form-urlencoded'));
  const media = type === undefined ? undefined : content[type];
  if (type === undefined || !isObject(media)) return undefined;
  return { type, schema: isObject(media.schema) ? media.schema : {} };
}

function serverOf(...candidates: unknown[]): string | undefined {
  for (const servers of candidates) {
    if (!Array.isArray(servers) || !isObject(servers[0]) || typeof servers[0].url !== 'string') continue;
    const { url, variables } = servers[0];
    // Server variables take their defaults: `https://{region}.api.example.com` → the default region.
    return url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
      const variable = isObject(variables) ? variables[name] : undefined;
      return isObject(variable) && typeof variable.default === 'string' ? variable.default : whole;
    });
  }
  return undefined;
}

/** Path-level parameters apply to every operation under it; the operation's own override them (same `in` and `name`). */
function mergedParameters(pathLevel: unknown, own: unknown): Record<string, unknown>[] {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const list of [pathLevel, own]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) if (isObject(p)) byKey.set(`${String(p.in)}:${String(p.name)}`, p);
  }
  return [...byKey.values()];
}

interface Arguments {
  properties: Record<string, unknown>;
  required: string[];
  locations: Record<string, Location>;
  bodyArgument?: string;
  bodyContentType?: string;
}

function argumentsOf(pathItem: Record<string, unknown>, op: Record<string, unknown>, field: string, ctx: SchemaCopy): Arguments {
  const args: Arguments = { properties: {}, required: [], locations: {} };
  for (const p of mergedParameters(pathItem.parameters, op.parameters)) {
    const name = p.name;
    const where = p.in;
    if (typeof name !== 'string' || name === '') throw badTool(`${field}.parameters`, ctx.tool, 'each parameter needs a name');
    if (where === 'cookie') {
      ctx.warnings.push(`${ctx.tool}: cookie parameter "${name}" is left out (tools are not given cookies)`);
      continue;
    }
    if (typeof where !== 'string' || !LOCATIONS.includes(where)) throw badTool(`${field}.parameters`, ctx.tool, `parameter "${name}" has in ${JSON.stringify(where ?? null)}; expected path, query, header or cookie`);
    if (name in args.properties) {
      throw badTool(`${field}.parameters`, ctx.tool, `parameter "${name}" is both a ${args.locations[name]} and a ${where} parameter; one arguments object cannot hold both`);
    }
    const schema = copyObject(isObject(p.schema) ? p.schema : (pickContent(p.content)?.schema ?? {}), ctx);
    const description = optionalString(p.description);
    if (description && schema.description === undefined) schema.description = description;
    if (p.deprecated === true) schema.deprecated = true;
    args.properties[name] = schema;
    args.locations[name] = where === 'path' ? 'path' : where === 'query' ? 'query' : 'header';
    if (where === 'path' || p.required === true) args.required.push(name);
  }
  addBody(args, op.requestBody, field, ctx);
  return args;
}

/**
 * An object body's properties become arguments beside the parameters (read-only ones are the
 * server's to set). A body that is not an object with properties, or whose properties clash with a
 * parameter, is one argument (`body`) holding the whole body, named in `origin.http.body_argument`.
 */
function addBody(args: Arguments, requestBody: unknown, field: string, ctx: SchemaCopy): void {
  if (!isObject(requestBody)) return;
  const content = pickContent(requestBody.content);
  if (!content) {
    const types = isObject(requestBody.content) ? Object.keys(requestBody.content).join(', ') : 'none';
    ctx.warnings.push(`${ctx.tool}: its request body (${types}) is not JSON or a form, so the tool takes no body`);
    return;
  }
  args.bodyContentType = content.type;
  const schema = copyObject(content.schema, ctx);
  const bodyRequired = requestBody.required === true;
  const props = isObject(schema.properties) ? Object.entries(schema.properties).filter(([, s]) => !(isObject(s) && s.readOnly === true)) : [];
  const isObjectBody = (schema.type === 'object' || schema.type === undefined) && props.length > 0;
  const clash = props.find(([name]) => name in args.properties);
  if (isObjectBody && !clash) {
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const [name, s] of props) {
      args.properties[name] = s;
      args.locations[name] = 'body';
      // An optional body's required properties are required only when it is sent: not expressible per argument.
      if (bodyRequired && required.includes(name)) args.required.push(name);
    }
    return;
  }
  if (clash) ctx.warnings.push(`${ctx.tool}: body property "${clash[0]}" has the name of a ${args.locations[clash[0]]} parameter, so the whole body is one argument`);
  const name = ['body', 'request_body', 'requestBody'].find((n) => !(n in args.properties));
  if (name === undefined) throw badTool(`${field}.requestBody`, ctx.tool, 'the parameters already use every name the body could take (body, request_body, requestBody)');
  args.properties[name] = schema;
  args.locations[name] = 'body';
  args.bodyArgument = name;
  if (bodyRequired) args.required.push(name);
}

/** The first 2xx response's JSON schema (`200` before `201` before `2XX`). */
function returnsOf(responses: unknown, ctx: SchemaCopy): JsonSchemaObject | undefined {
  if (!isObject(responses)) return undefined;
  const code = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort()[0];
  const response = code === undefined ? undefined : responses[code];
  const content = isObject(response) ? pickContent(response.content) : undefined;
  return content && Object.keys(content.schema).length > 0 ? copyObject(content.schema, ctx) : undefined;
}

export async function parseOpenApi(doc: Record<string, unknown>, root: string): Promise<ParsedTools> {
  const version = doc.openapi;
  if (typeof version !== 'string' || !/^3\.[01]\.\d+/.test(version)) throw badTool(`${root}.openapi`, undefined, `OpenAPI 3.0.x and 3.1.x documents are read; this one is ${JSON.stringify(version ?? null)}`);
  if (!isApiDocument(doc)) throw badTool(`${root}.info`, undefined, 'an OpenAPI document needs an info object');
  const paths = doc.paths ?? {};
  if (!isObject(paths)) throw badTool(`${root}.paths`, undefined, 'paths must be an object');
  const operations: Array<{ path: string; method: (typeof METHODS)[number]; field: string; label: string }> = [];
  const scan: RefScan = { doc, root, sizes: new Map(), open: new Set() };
  let nodes = 0;
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) throw badTool(`${root}.paths["${path}"]`, undefined, 'a path item must be an object');
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const field = `${root}.paths["${path}"].${method}`;
      const label = typeof op.operationId === 'string' ? op.operationId : `${method.toUpperCase()} ${path}`;
      nodes += checkRefs(scan, item.parameters, `${root}.paths["${path}"].parameters`, label) + checkRefs(scan, op, field, label);
      if (nodes > LIMITS.toolSchemaNodes) throw schemaNodesBound(field, label);
      operations.push({ path, method, field, label });
    }
  }
  let resolved: unknown;
  try {
    resolved = await dereference(structuredClone(doc), { resolve: { external: false, file: false }, dereference: { circular: 'ignore' }, timeoutMs: 10_000 });
  } catch (err) {
    // Refs the operations reach were checked above; this is one elsewhere (an unused component).
    throw badTool(root, undefined, `its $refs cannot be resolved: ${err instanceof Error ? err.message : String(err)}`);
  }
  const resolvedPaths = isObject(resolved) && isObject(resolved.paths) ? resolved.paths : {};
  const warnings: string[] = [];
  const budget = { nodes: 0 };
  const tools: Tool[] = [];
  const nameFields: string[] = [];
  for (const { path, method, field, label } of operations) {
    const item = resolvedPaths[path];
    const op = isObject(item) ? item[method] : undefined;
    if (!isObject(item) || !isObject(op)) continue;
    const ctx: SchemaCopy = { doc: isObject(resolved) ? resolved : {}, openapi30: version.startsWith('3.0'), tool: label, warnings, budget, field };
    const operationId = optionalString(op.operationId);
    const name = operationId && validToolName(operationId) ? operationId : toolNameFrom(operationId ?? `${method}_${path}`);
    if (operationId && name !== operationId) warnings.push(`${operationId}: operationId is not a name providers accept; the tool is named ${name}`);
    ctx.tool = name;
    const args = argumentsOf(item, op, field, ctx);
    const parameters: JsonSchemaObject = { type: 'object', properties: args.properties, ...(args.required.length ? { required: args.required } : {}) };
    const summary = optionalString(op.summary);
    const details = optionalString(op.description);
    const server = serverOf(op.servers, item.servers, resolved && isObject(resolved) ? resolved.servers : undefined);
    const tag = Array.isArray(op.tags) ? optionalString(op.tags[0]) : undefined;
    tools.push({
      name,
      description: summary && details && details !== summary ? `${summary}\n\n${details}` : (summary ?? details ?? ''),
      parameters,
      ...optionalReturns(returnsOf(op.responses, ctx)),
      category: tag ?? 'general',
      complexity: complexityOf(parameters),
      examples: [],
      origin: {
        format: 'openapi',
        ...(operationId ? { id: operationId } : {}),
        http: {
          method: method.toUpperCase(),
          path,
          ...(server ? { server } : {}),
          locations: args.locations,
          ...(args.bodyContentType ? { body_content_type: args.bodyContentType } : {}),
          ...(args.bodyArgument ? { body_argument: args.bodyArgument } : {}),
        },
      },
    });
    nameFields.push(`${field}.operationId`);
  }
  return { tools, nameFields, warnings };
}
