import type { ExecutionResult, Tool, ToolExecutor } from '../tool.js';

/**
 * DeepFabric's VFS component (tools-sdk/components/vfs, reached at Spin's `/vfs/execute`) in
 * memory: one file system per example (DeepFabric's session), seeded from `scenario_seed.files`
 * as DeepFabric seeds it (a write per file, so the seeded files are listed in seed order).
 *
 * Results are DeepFabric's text: a read gives the content, a write `Successfully wrote N bytes to
 * P`, a list the JSON array of paths in the order they were first written. A missing file or
 * argument is the call's result, `Error (FileNotFound): File not found: P`, as DeepFabric puts it
 * in the conversation (an agent reacting to an error is training data there); an unknown tool is
 * a failed call.
 */
export interface VfsExecutor extends ToolExecutor {
  readonly mode: 'vfs';
  /** The file system as it stands, path → content, in listing order. */
  files(): ReadonlyMap<string, string>;
  close(): Promise<void>;
}

const error = (type: string, message: string) => `Error (${type}): ${message}`;

export function createVfsExecutor(seed: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]> = {}): VfsExecutor {
  // Entries keep the seed's order where a record would not (jsonb reorders keys; JS puts integer-like ones first).
  const files = new Map<string, string>(Array.isArray(seed) ? seed : Object.entries(seed));
  const text = (args: Record<string, unknown>, name: string) => (typeof args[name] === 'string' ? args[name] : undefined);

  function run(tool: string, args: Record<string, unknown>): ExecutionResult {
    switch (tool) {
      case 'read_file': {
        const path = text(args, 'file_path');
        if (path === undefined) return { ok: true, result: error('InvalidArguments', 'Missing required argument: file_path') };
        const content = files.get(path);
        return { ok: true, result: content ?? error('FileNotFound', `File not found: ${path}`) };
      }
      case 'write_file': {
        const path = text(args, 'file_path');
        const content = text(args, 'content');
        if (path === undefined) return { ok: true, result: error('InvalidArguments', 'Missing required argument: file_path') };
        if (content === undefined) return { ok: true, result: error('InvalidArguments', 'Missing required argument: content') };
        files.set(path, content);
        // Rust's str::len: the UTF-8 byte count.
        return { ok: true, result: `Successfully wrote ${Buffer.byteLength(content)} bytes to ${path}` };
      }
      case 'list_files':
        return { ok: true, result: JSON.stringify([...files.keys()]) };
      default:
        return { ok: false, reason: `Unknown tool: ${tool} (the VFS runs read_file, write_file and list_files)`, retryable: false };
    }
  }

  return {
    mode: 'vfs',
    execute: async (tool: Tool, args: Record<string, unknown>) => run(tool.name, args),
    files: () => files,
    close: async () => files.clear(),
  };
}
