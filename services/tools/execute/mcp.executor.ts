import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ExecutionResult, Tool, ToolExecutor } from '../tool.js';
import { matchAllowList, parseAllowList, ToolUrlRefused } from './allow-list.js';
import { createGuardedAgent, type Resolver } from './guarded-agent.js';
import { createGuardedFetch } from './guarded-fetch.js';
import { MAX_TOOL_RESPONSE_BYTES } from './http.executor.js';
import { callFailure, findRefusal, refused } from './outcome.js';

export interface McpExecutorOptions {
  /** The MCP server's streamable HTTP endpoint, e.g. `http://127.0.0.1:8080/mcp`. */
  url: string;
  /** TOOLS_HTTP_ALLOW entries. */
  allow: readonly string[];
  /** Each request (initialise, list, call). */
  timeoutMs: number;
  /** Sent with every request (credentials for the server). */
  headers?: Record<string, string>;
  maxResponseBytes?: number;
  /** DNS for the connect-time address check (tests). */
  resolve?: Resolver;
}

export type McpExecutor = ToolExecutor & { close(): Promise<void>; listTools(): Promise<unknown> };

const CLIENT_INFO = { name: 'quarry', version: '1.0.0' };

/**
 * Really calls tools on an MCP server over streamable HTTP (`execution.mode: "mcp"`), with the
 * official SDK's client. It connects on first use and reuses the session; a session that closes
 * is reopened by the next call. The server URL, and every URL the transport is sent to, must fall
 * under TOOLS_HTTP_ALLOW, through the same guarded agent as `http` execution. Results: the
 * `structuredContent` when the tool gives one (checked by the SDK against its `outputSchema`),
 * else the text content joined; `isError` is a failure not worth retrying. `execute` throws only
 * when `signal` aborts.
 */
export function createMcpExecutor(options: McpExecutorOptions): McpExecutor {
  const allow = parseAllowList(options.allow);
  const agent = createGuardedAgent({ allow, resolve: options.resolve, connectTimeoutMs: options.timeoutMs });
  const fetch = createGuardedFetch({ allow, agent, maxBytes: options.maxResponseBytes ?? MAX_TOOL_RESPONSE_BYTES });
  let connecting: Promise<Client> | undefined;
  let current: Client | undefined;
  let tools: Promise<unknown> | undefined;

  async function open(): Promise<Client> {
    const matched = matchAllowList(options.url, allow);
    if (matched instanceof ToolUrlRefused) throw matched;
    const transport = new StreamableHTTPClientTransport(new URL(options.url), {
      fetch,
      requestInit: { headers: options.headers ?? {} },
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    });
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.onclose = () => {
      // Only this session's end resets the executor, not the late close of one it already replaced.
      if (current !== client) return;
      current = undefined;
      connecting = undefined;
      tools = undefined;
    };
    try {
      current = client;
      await client.connect(transport, { timeout: options.timeoutMs });
      return client;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  function connected(): Promise<Client> {
    connecting ??= open().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  }

  /** tools/list once per session: the SDK then checks each call's structuredContent against the tool's outputSchema. */
  function listTools(): Promise<unknown> {
    tools ??= connected()
      .then((client) => client.listTools(undefined, { timeout: options.timeoutMs }))
      .catch((err: unknown) => {
        tools = undefined;
        throw err;
      });
    return tools;
  }

  return {
    mode: 'mcp',
    listTools,
    async execute(tool: Tool, args: Record<string, unknown>, signal: AbortSignal): Promise<ExecutionResult> {
      try {
        const client = await connected();
        await listTools();
        const result = await client.callTool({ name: tool.name, arguments: args }, undefined, { signal, timeout: options.timeoutMs });
        return toOutcome(result);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        return mcpFailure(err, options.timeoutMs);
      }
    },
    async close() {
      const open = connecting;
      connecting = undefined;
      current = undefined;
      tools = undefined;
      if (open) await open.then((client) => client.close()).catch(() => undefined);
      await agent.close();
    },
  };
}

function toOutcome(result: Record<string, unknown>): ExecutionResult {
  const content = Array.isArray(result.content) ? result.content : [];
  const text = content
    .map((item: unknown) => (typeof item === 'object' && item !== null && 'type' in item && item.type === 'text' && 'text' in item ? String(item.text) : undefined))
    .filter((t): t is string => t !== undefined)
    .join('\n');
  if (result.isError === true) return refused(`tool error: ${text || 'the server gave no message'}`);
  if (result.structuredContent !== undefined) return { ok: true, result: result.structuredContent };
  if ('toolResult' in result) return { ok: true, result: result.toolResult };
  return { ok: true, result: text || content };
}

/** Timeouts, closed connections, internal errors and 5xx are worth another try; refusals and bad calls are not. */
function mcpFailure(err: unknown, timeoutMs: number): ExecutionResult {
  if (findRefusal(err)) return callFailure(err, false, timeoutMs);
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return { ok: false, reason: `timed out after ${timeoutMs} ms`, retryable: true };
    const retryable = err.code === ErrorCode.ConnectionClosed || err.code === ErrorCode.InternalError;
    return { ok: false, reason: `MCP error ${err.code}: ${err.message}`, retryable };
  }
  if (err instanceof StreamableHTTPError) {
    const status = err.code ?? 0;
    return { ok: false, reason: `MCP server answered HTTP ${status}: ${err.message}`, retryable: status >= 500 || status === 0 || status === 408 || status === 429 };
  }
  return callFailure(err, false, timeoutMs);
}
