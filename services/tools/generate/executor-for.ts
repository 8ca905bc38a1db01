import type { JobDeps } from '../../jobs/job-deps.js';
import { LlmError } from '../../../src/llm/llm.errors.js';
import { createHttpExecutor } from '../execute/http.executor.js';
import { createMcpExecutor } from '../execute/mcp.executor.js';
import { createVfsExecutor } from '../execute/vfs.executor.js';
import type { ExecutionMode, ToolExecutor } from '../tool.js';
import { createSimulatedExecutor, type SimulatedExecutorDeps } from './simulated.executor.js';
import type { ExecutionSettings } from './tools-generate.spec.js';

export type ClosableExecutor = ToolExecutor & { close(): Promise<void> };

/**
 * The executor an example's calls go through: the teacher playing the API, the API itself over
 * HTTP, an MCP server, or a file system of the example's own (vfs, seeded from `files`). Real ones are opened per task and closed when it ends, so a task holds
 * no connection beyond its own lifetime.
 */
export function executorFor(
  deps: Pick<JobDeps, 'toolsHttpAllow' | 'toolsHttpTimeoutMs'>,
  execution: ExecutionSettings & { mode: ExecutionMode },
  simulated: SimulatedExecutorDeps,
): ClosableExecutor {
  const common = { allow: deps.toolsHttpAllow, timeoutMs: deps.toolsHttpTimeoutMs, headers: execution.headers };
  switch (execution.mode) {
    case 'http':
      return createHttpExecutor({ ...common, baseUrl: execution.base_url });
    case 'mcp':
      // The planner refused a missing mcp_url with a 400; a payload without one is a bug.
      if (!execution.mcp_url) throw new LlmError('api', 'mcp execution without an mcp_url');
      return createMcpExecutor({ ...common, url: execution.mcp_url });
    case 'vfs':
      return createVfsExecutor(execution.files?.map((f) => [f.path, f.content] as const));
    case 'simulated':
      return { ...createSimulatedExecutor(simulated), close: async () => undefined };
  }
}
