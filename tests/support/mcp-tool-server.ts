import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv from 'ajv';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * A tiny real MCP server on loopback (the official SDK, streamable HTTP, stateless: one server and
 * transport per request over shared state), for `mcp` tool execution. A notes service whose tools
 * chain: list_notes → get_note(id) → update_note(id, version). Every tool has an inputSchema and an
 * outputSchema and answers `structuredContent`; arguments that fail the inputSchema and unknown
 * notes are tool errors (`isError`). The SDK's low-level Server is used rather than McpServer so
 * the schemas are plain JSON Schema as a tools/list result carries them (McpServer wants zod).
 */
export interface McpToolServer {
  /** The streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  url: string;
  calls: { name: string; arguments: unknown }[];
  /** Tools named here never answer (for timeout tests). */
  hang: Set<string>;
  /** Characters of filler text added to every tool answer (for size-cap tests); 0 = none. */
  knobs: { padChars: number };
  close(): Promise<void>;
}

interface Note {
  id: string;
  title: string;
  body: string;
  tags: string[];
  version: number;
}

const NOTE_ID = { type: 'string', pattern: '^n-[0-9]+$', description: 'A note id, e.g. n-1' };
const NOTE_SUMMARY = { type: 'object', required: ['id', 'title', 'tags'], properties: { id: NOTE_ID, title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } };

export const MCP_TOOL_SERVER_TOOLS = [
  {
    name: 'list_notes',
    description: 'List notes, optionally only those with a tag.',
    inputSchema: { type: 'object', properties: { tag: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 20, default: 10 } }, additionalProperties: false },
    outputSchema: { type: 'object', required: ['notes'], properties: { notes: { type: 'array', items: NOTE_SUMMARY } } },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'get_note',
    description: 'Read one note in full, with the version an update must name.',
    inputSchema: { type: 'object', required: ['id'], properties: { id: NOTE_ID }, additionalProperties: false },
    outputSchema: {
      type: 'object',
      required: ['id', 'title', 'body', 'tags', 'version'],
      properties: { id: NOTE_ID, title: { type: 'string' }, body: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, version: { type: 'integer' } },
    },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'update_note',
    description: "Replace a note's body (and tags); fails if the note changed since the version read.",
    inputSchema: {
      type: 'object',
      required: ['id', 'body', 'version'],
      properties: { id: NOTE_ID, body: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string' } }, version: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    },
    outputSchema: { type: 'object', required: ['id', 'version'], properties: { id: NOTE_ID, version: { type: 'integer' } } },
    annotations: { readOnlyHint: false, idempotentHint: false, destructiveHint: true },
  },
  {
    name: 'add_note',
    description: 'Create a note.',
    inputSchema: { type: 'object', required: ['title', 'body'], properties: { title: { type: 'string', minLength: 1 }, body: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, additionalProperties: false },
    outputSchema: { type: 'object', required: ['id', 'version'], properties: { id: NOTE_ID, version: { type: 'integer' } } },
    annotations: { readOnlyHint: false, idempotentHint: false },
  },
];

const ajv = new Ajv.default({ allErrors: true, strict: false });
const validators = new Map(MCP_TOOL_SERVER_TOOLS.map((t) => [t.name, ajv.compile(t.inputSchema)]));

const toolError = (text: string) => ({ content: [{ type: 'text' as const, text }], isError: true });
const answer = (value: Record<string, unknown>) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }], structuredContent: value });

function call(notes: Map<string, Note>, name: string, args: Record<string, unknown>) {
  const str = (k: string) => (typeof args[k] === 'string' ? String(args[k]) : '');
  const tags = Array.isArray(args.tags) ? args.tags.map(String) : undefined;
  if (name === 'list_notes') {
    const found = [...notes.values()].filter((n) => !args.tag || n.tags.includes(str('tag')));
    return answer({ notes: found.slice(0, typeof args.limit === 'number' ? args.limit : 10).map(({ id, title, tags }) => ({ id, title, tags })) });
  }
  if (name === 'add_note') {
    const note = { id: `n-${notes.size + 1}`, title: str('title'), body: str('body'), tags: tags ?? [], version: 1 };
    notes.set(note.id, note);
    return answer({ id: note.id, version: note.version });
  }
  const note = notes.get(str('id'));
  if (!note) return toolError(`no note ${str('id')}`);
  if (name === 'get_note') return answer({ ...note });
  if (args.version !== note.version) return toolError(`note ${note.id} is at version ${note.version}, not ${String(args.version)}: read it again`);
  Object.assign(note, { body: str('body'), tags: tags ?? note.tags, version: note.version + 1 });
  return answer({ id: note.id, version: note.version });
}

function mcpServer(notes: Map<string, Note>, calls: McpToolServer['calls'], hang: ReadonlySet<string>, knobs: McpToolServer['knobs']): Server {
  const server = new Server({ name: 'notes', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: MCP_TOOL_SERVER_TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const { name, arguments: args = {} } = request.params;
    calls.push({ name, arguments: args });
    if (hang.has(name)) return new Promise<never>(() => undefined);
    const validate = validators.get(name);
    if (!validate) throw new McpError(ErrorCode.InvalidParams, `no tool ${name}`);
    if (!validate(args)) return toolError(`invalid arguments: ${ajv.errorsText(validate.errors)}`);
    const result = call(notes, name, args);
    return knobs.padChars > 0 ? { ...result, content: [...result.content, { type: 'text' as const, text: 'x'.repeat(knobs.padChars) }] } : result;
  });
  return server;
}

/** Starts the server on 127.0.0.1 (a free port) with three notes. */
export async function startMcpToolServer(): Promise<McpToolServer> {
  const notes = new Map<string, Note>(
    [
      { id: 'n-1', title: 'Groceries', body: 'eggs, flour', tags: ['home'], version: 1 },
      { id: 'n-2', title: 'Sprint goals', body: 'ship tool-use data', tags: ['work'], version: 3 },
      { id: 'n-3', title: 'Gift ideas', body: 'headlamp', tags: ['home', 'people'], version: 1 },
    ].map((n) => [n.id, n]),
  );
  const calls: McpToolServer['calls'] = [];
  const hang = new Set<string>();
  const knobs = { padChars: 0 };
  const http = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') return void res.writeHead(404).end();
    // Stateless: no server-initiated stream to GET, and no session to DELETE.
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const server = mcpServer(notes, calls, hang, knobs);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void Promise.all([transport.close(), server.close()]));
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => (res.headersSent ? res.destroy() : res.writeHead(500).end()));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    hang,
    knobs,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
