import type { ChunkRef, GenerationOptions } from './task-payload.js';

/** The variables every generation prompt shares: where the passage comes from, and how to write. */
export function passageVars(chunk: ChunkRef, options: GenerationOptions): Record<string, string> {
  const examples = options.seed_examples?.length
    ? `\nExample questions, for style and difficulty (do not copy them):\n${options.seed_examples.map((q) => `- ${q}`).join('\n')}\n`
    : '';
  return {
    source: chunk.source,
    section: chunk.code
      ? `${chunk.code.symbol ?? chunk.section_path.join(' > ') ?? '(file)'}${chunk.code.language ? ` (${chunk.code.language})` : ''}`
      : chunk.section_path.join(' > ') || '(none)',
    content: chunk.content,
    language_instruction: options.language ? `Write the questions and answers in ${options.language}.\n` : '',
    examples,
  };
}

/**
 * The chunk's text, on the first item a chunk task writes only: an evaluation export (Fair-Forge's
 * `context`) needs it once per chunk, and n copies of a 2,000-character passage would outweigh the pairs.
 */
export function chunkContext(chunk: ChunkRef, item: number): { context?: string } {
  return item === 0 ? { context: chunk.content } : {};
}
