/**
 * DeepFabric's builtin VFS tools (`tools.components.builtin`, `deepfabric/tools/defaults.py`):
 * the same names, arguments and result descriptions, in Generator's format so they parse like
 * any other definition. They run on Quarry's in-memory file system (`execution.mode: "vfs"`,
 * `../execute/vfs.executor.ts`), not on a Spin service.
 */
export const VFS_TOOL_NAMES = ['read_file', 'write_file', 'list_files'] as const;
export type VfsToolName = (typeof VFS_TOOL_NAMES)[number];

const filePath = { name: 'file_path', type: 'string', required: true } as const;

const VFS_TOOLS = [
  {
    tool_id: 'vfs_read_file',
    name: 'read_file',
    category: 'filesystem',
    description: 'Read content from a file',
    parameters: [{ ...filePath, description: 'Path to the file to read' }],
    returns: { type: 'string', description: 'File content as a string' },
    examples: ["read_file(file_path='main.py')"],
    complexity: 'simple',
  },
  {
    tool_id: 'vfs_write_file',
    name: 'write_file',
    category: 'filesystem',
    description: 'Write content to a file',
    parameters: [
      { ...filePath, description: 'Path to the file to write' },
      { name: 'content', type: 'string', required: true, description: 'Content to write to the file' },
    ],
    returns: { type: 'string', description: 'Confirmation message with bytes written' },
    examples: ["write_file(file_path='notes.txt', content='hello')"],
    complexity: 'simple',
  },
  {
    tool_id: 'vfs_list_files',
    name: 'list_files',
    category: 'filesystem',
    description: 'List all files in the current session',
    parameters: [],
    returns: { type: 'string', description: 'JSON array of file paths' },
    examples: ['list_files()'],
    complexity: 'simple',
  },
];

/** The VFS tools named (all three by default) as a Generator tool file, a `tools` value any job takes. */
export function vfsToolFile(names: readonly string[] = VFS_TOOL_NAMES) {
  return { name: 'Quarry VFS', description: 'DeepFabric-compatible file tools on a per-example in-memory file system', tools: VFS_TOOLS.filter((t) => names.includes(t.name)) };
}

export const isVfsTool = (name: string): name is VfsToolName => (VFS_TOOL_NAMES as readonly string[]).includes(name);
