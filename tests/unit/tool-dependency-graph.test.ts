import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../services/generate/sampling.js';
import { parseDefinition } from '../../services/tools/definitions/parse-definition.js';
import { MIN_EDGE_SCORE, chains, dependencyGraph, edgeBetween, validateChain, type ToolGraph } from '../../services/tools/dependency-graph.js';
import type { JsonSchemaObject, Tool } from '../../services/tools/tool.js';
import { typeScore, typesOf } from '../../services/tools/tool-words.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tools/${name}`, import.meta.url), 'utf8');
const HDF5 = JSON.parse(fixture('hdf5_tools.json'));

/** A Generator-format tool with JSON Schema parameters, for graphs built to show one rule. */
function tool(name: string, properties: Record<string, JsonSchemaObject>, returns?: JsonSchemaObject, required: string[] = Object.keys(properties)): Tool {
  return {
    name, description: name, parameters: { type: 'object', properties, required }, ...(returns ? { returns } : {}),
    category: 'test', complexity: 'simple', examples: [], origin: { format: 'generator' },
  };
}

let hdf5: Tool[];
let g: ToolGraph;
beforeAll(async () => {
  hdf5 = (await parseDefinition(HDF5, { field: 'definition' })).tools;
  g = dependencyGraph(hdf5);
});

const byName = (name: string) => {
  const t = hdf5.find((x) => x.name === name);
  if (!t) throw new Error(`no tool ${name}`);
  return t;
};

const parameterSchema = (tool: string, parameter: string): unknown =>
  Object.entries(byName(tool).parameters.properties ?? {}).find(([k]) => k === parameter)?.[1];

describe('dependency graph of hdf5_tools.json', () => {
  it('links only real parameters of other tools, with a compatible type and a score above the floor', () => {
    expect(g.edges.length).toBeGreaterThan(10);
    for (const e of g.edges) {
      expect(e.from).not.toBe(e.to);
      const target = byName(e.to).parameters.properties;
      expect(target).toHaveProperty(e.parameter);
      expect(e.score).toBeGreaterThanOrEqual(MIN_EDGE_SCORE);
      expect(e.score).toBeLessThanOrEqual(1);
    }
  });

  it('does not link every string to every string, as a type-only graph would', () => {
    // The seed's rule: a string result feeds every string parameter. Count what it would give.
    const stringParams = hdf5.flatMap((t) =>
      Object.entries(t.parameters.properties ?? {}).filter(([, s]) => typesOf(s).includes('string')).map(([p]) => `${t.name}.${p}`),
    );
    expect(stringParams.length).toBeGreaterThan(15);
    // open_file answers a success message: nothing it returns names a parameter.
    expect(g.successors.get('open_file')).toEqual([]);
    expect(g.successors.get('close_file')).toEqual([]);
    // No string parameter is filled by a bare type match.
    for (const e of g.edges.filter((x) => x.evidence === 'type')) expect(['array', 'object']).toContain(typesOf(parameterSchema(e.to, e.parameter))[0]);
    const seedEdges = hdf5.reduce((n, a) => n + (typesOf(a.returns)[0] === 'string' ? stringParams.filter((p) => !p.startsWith(`${a.name}.`)).length : 0), 0);
    expect(g.edges.length).toBeLessThan(seedEdges / 2);
  });

  it('prefers a name: get_mode feeds open_file.mode; visit\'s "list of all paths" feeds batch reads of paths', () => {
    expect(edgeBetween(g, 'get_mode', 'open_file')).toMatchObject({ parameter: 'mode', evidence: 'name' });
    const batch = edgeBetween(g, 'visit', 'hdf5_batch_read');
    expect(batch).toMatchObject({ parameter: 'paths', evidence: 'description', output: 'result' });
    // An element of visit's list fills a single `path`, weaker than the whole list filling `paths`.
    const one = edgeBetween(g, 'visit', 'get_shape');
    expect(one).toMatchObject({ parameter: 'path', output: 'result[]' });
    expect(one?.score ?? 1).toBeLessThan(batch?.score ?? 0);
    // A bare list-to-list match is kept for required lists, below any named link.
    expect(edgeBetween(g, 'list_keys', 'hdf5_batch_read')).toMatchObject({ parameter: 'paths', evidence: 'type', score: 0.3 });
  });

  it('names the entry points: tools with no required parameter', () => {
    const expected = hdf5.filter((t) => !Array.isArray(t.parameters.required) || t.parameters.required.length === 0).map((t) => t.name).sort();
    expect(g.entryPoints).toEqual(expected);
    expect(g.entryPoints).toContain('list_keys');
    expect(g.entryPoints).not.toContain('get_shape');
  });

  it('does not depend on the order of the tools', () => {
    const reversed = dependencyGraph([...hdf5].reverse());
    expect(reversed.edges).toEqual(g.edges);
    expect([...reversed.successors.entries()]).toEqual([...g.successors.entries()]);
  });

  it('finds feasible chains only: each tool feeds the next, no tool twice', () => {
    const found = chains(g, 3, prng(1), 50);
    expect(found.length).toBeGreaterThan(0);
    for (const c of found) {
      expect(c).toHaveLength(3);
      expect(new Set(c).size).toBe(3);
      expect(validateChain(g, c)).toEqual([]);
      for (let i = 1; i < c.length; i++) expect(g.edges.some((e) => e.from === c[i - 1] && e.to === c[i])).toBe(true);
    }
    // Longer than the graph allows: whatever comes back is still feasible, and the search is bounded.
    for (const c of chains(g, 8, prng(2), 5)) expect(validateChain(g, c)).toEqual([]);
    expect(validateChain(g, ['open_file', 'get_shape'])).toEqual(["step 1: open_file's result feeds no parameter of get_shape"]);
    expect(validateChain(g, ['visit', 'nope'])[0]).toContain('unknown tool nope');
  });
});

describe('dependency graph scoring', () => {
  const upload = tool('create_upload', { content: { type: 'string' } }, {
    type: 'object', properties: { file_id: { type: 'string' }, row_count: { type: 'integer' } },
  });
  const getFile = tool('get_file', { fileId: { type: 'string' } }, { type: 'object' });
  const summarize = tool('summarize', { text: { type: 'string' } }, { type: 'string' });
  const limit = tool('set_limit', { row_count: { type: 'number' } });
  const login = tool('login', { user: { type: 'string' } }, { type: 'string', description: 'a session token' });
  const whoami = tool('whoami', { session: { type: 'string', description: 'the token login returns' } });
  const userId = tool('get_user_id', { email: { type: 'string' } });
  const deleteUser = tool('delete_user', { user_id: { type: 'string' } });
  const graph = dependencyGraph([upload, getFile, summarize, limit, login, whoami, userId, deleteUser]);

  it('links a result property to the parameter of the same name, whatever its case', () => {
    expect(edgeBetween(graph, 'create_upload', 'get_file')).toEqual({
      from: 'create_upload', to: 'get_file', parameter: 'fileId', score: 1, output: 'result.file_id', evidence: 'property',
    });
    expect(edgeBetween(graph, 'create_upload', 'summarize')).toBeUndefined();
  });

  it('scores integer → number as compatible (0.6), as the seed does', () => {
    expect(typeScore(['integer'], ['number'])).toBe(0.6);
    expect(typeScore(['string'], ['any'])).toBe(0.8);
    expect(typeScore(['string'], ['integer'])).toBe(0);
    expect(edgeBetween(graph, 'create_upload', 'set_limit')).toMatchObject({ parameter: 'row_count', score: 0.6, output: 'result.row_count' });
  });

  it("links a tool named in a parameter's description", () => {
    expect(edgeBetween(graph, 'login', 'whoami')).toMatchObject({ parameter: 'session', evidence: 'parameter-description', score: 1 });
  });

  it('links a tool without a returns schema only by what its name says it gives (type unknown: 0.6 × 0.9)', () => {
    expect(edgeBetween(graph, 'get_user_id', 'delete_user')).toMatchObject({ parameter: 'user_id', evidence: 'name', score: 0.54 });
    expect(graph.successors.get('get_user_id')).toHaveLength(1);
    expect(graph.successors.get('set_limit')).toEqual([]);
    expect(graph.successors.get('whoami')).toEqual([]);
  });
});

describe('dependency graph of an OpenAPI document and an MCP server', () => {
  it("reads getTask's `id` as a task id: it fills taskId, never assignee_id", async () => {
    const { tools } = await parseDefinition(fixture('tasks.openapi.yaml'), { field: 'definition' });
    const graph = dependencyGraph(tools);
    expect(edgeBetween(graph, 'createTask', 'getTask')).toMatchObject({ parameter: 'taskId', output: 'result.id', evidence: 'property', score: 1 });
    expect(edgeBetween(graph, 'listTasks', 'getTask')).toMatchObject({ parameter: 'taskId', output: 'result[].id', score: 0.9 });
    expect(graph.edges.filter((e) => e.parameter === 'assignee_id')).toEqual([]);
    // A delete answers nothing its name promises: no edge leaves it.
    const remove = tools.find((t) => t.origin.http?.method.toUpperCase() === 'DELETE');
    expect(remove && graph.successors.get(remove.name)).toEqual([]);
  });

  it("links an MCP file read's content to a write's content", async () => {
    const { tools } = await parseDefinition(JSON.parse(fixture('files.mcp-tools.json')), { field: 'definition' });
    expect(edgeBetween(dependencyGraph(tools), 'read_text_file', 'write_file')).toMatchObject({ parameter: 'content', output: 'result.content', score: 1 });
  });
});
