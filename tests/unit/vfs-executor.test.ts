import { describe, expect, it } from 'vitest';
import { capCalls } from '../../services/tools/cap-calls.js';
import { parseDefinition } from '../../services/tools/definitions/parse-definition.js';
import { vfsToolFile } from '../../services/tools/definitions/vfs-tools.js';
import { createVfsExecutor } from '../../services/tools/execute/vfs.executor.js';
import type { Tool } from '../../services/tools/tool.js';

/** Quarry's VFS against DeepFabric's (tools-sdk/components/vfs/src/lib.rs): same results, same error text. */
describe('the in-memory VFS executor', () => {
  const signal = new AbortController().signal;
  const call = (sut: ReturnType<typeof createVfsExecutor>, name: string, args: Record<string, unknown> = {}) => sut.execute({ name } as Tool, args, signal);

  it('reads a seeded file', async () => {
    const sut = createVfsExecutor({ 'main.py': 'print("hi")\n', 'config.json': '{}' });
    expect(await call(sut, 'read_file', { file_path: 'main.py' })).toEqual({ ok: true, result: 'print("hi")\n' });
  });

  it('writes, then reads what it wrote; a write counts UTF-8 bytes and overwrites in place', async () => {
    const sut = createVfsExecutor({ a: '1' });
    expect(await call(sut, 'write_file', { file_path: 'notes/é.txt', content: 'héllo' })).toEqual({ ok: true, result: 'Successfully wrote 6 bytes to notes/é.txt' });
    expect(await call(sut, 'read_file', { file_path: 'notes/é.txt' })).toEqual({ ok: true, result: 'héllo' });
    await call(sut, 'write_file', { file_path: 'a', content: '2' });
    expect(await call(sut, 'read_file', { file_path: 'a' })).toEqual({ ok: true, result: '2' });
    expect(await call(sut, 'list_files')).toEqual({ ok: true, result: '["a","notes/é.txt"]' });
  });

  it('lists the seeded files in seed order, then new ones; an empty system lists []', async () => {
    const sut = createVfsExecutor({ Dockerfile: 'FROM x', 'main.py': '' });
    await call(sut, 'write_file', { file_path: 'out.txt', content: 'x' });
    expect(await call(sut, 'list_files')).toEqual({ ok: true, result: '["Dockerfile","main.py","out.txt"]' });
    expect(await call(createVfsExecutor(), 'list_files')).toEqual({ ok: true, result: '[]' });
    // Seed entries keep their order even where an object would not (integer-like keys first).
    expect(await call(createVfsExecutor([['b', ''], ['10', ''], ['a', '']]), 'list_files')).toEqual({ ok: true, result: '["b","10","a"]' });
  });

  it('answers a missing file or argument with DeepFabric\'s error text, and refuses an unknown tool', async () => {
    const sut = createVfsExecutor();
    expect(await call(sut, 'read_file', { file_path: 'nope.txt' })).toEqual({ ok: true, result: 'Error (FileNotFound): File not found: nope.txt' });
    expect(await call(sut, 'read_file', {})).toEqual({ ok: true, result: 'Error (InvalidArguments): Missing required argument: file_path' });
    expect(await call(sut, 'write_file', { file_path: 'x' })).toEqual({ ok: true, result: 'Error (InvalidArguments): Missing required argument: content' });
    expect(await call(sut, 'delete_file', { file_path: 'x' })).toMatchObject({ ok: false, retryable: false });
  });

  it('keeps each executor\'s files to itself', async () => {
    const one = createVfsExecutor({ a: 'seed' });
    const two = createVfsExecutor({ a: 'seed' });
    await call(one, 'write_file', { file_path: 'a', content: 'changed' });
    expect(await call(two, 'read_file', { file_path: 'a' })).toEqual({ ok: true, result: 'seed' });
  });

  it('ships DeepFabric\'s three builtin definitions: names and argument schemas', async () => {
    const parsed = await parseDefinition(vfsToolFile(), { field: 'tools' });
    expect(parsed.tools.map((t) => [t.name, Object.keys((t.parameters.properties ?? {}) as object), t.parameters.required ?? []])).toEqual([
      ['read_file', ['file_path'], ['file_path']],
      ['write_file', ['file_path', 'content'], ['file_path', 'content']],
      ['list_files', [], []],
    ]);
  });
});

describe('capCalls (DeepFabric max_per_query)', () => {
  it('drops parallel calls from the widest step, with their links, until the plan fits', () => {
    const links = [{ from: { step: 0, tool: 'a' }, to: { step: 1, tool: 'c', parameter: 'p' } }, { from: { step: 0, tool: 'b' }, to: { step: 1, tool: 'c', parameter: 'q' } }];
    expect(capCalls({ steps: [['a', 'b'], ['c']], links }, 2)).toEqual({ steps: [['a'], ['c']], links: [links[0]] });
    expect(capCalls({ steps: [['a', 'b'], ['c']], links }, 3)).toEqual({ steps: [['a', 'b'], ['c']], links });
  });
});
