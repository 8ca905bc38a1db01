import type { TeacherRequest } from '../teacher-request.js';

type Count = (text: string) => number;

/** Tokenizers loaded in this process (preloadTokenizers), by encoding. */
const loaded = new Map<string, Count>();

/**
 * Loads the tokenizers of these models' encodings. Their tables take 0.5–1.7 s of synchronous work
 * to load, so the service does it at start-up (src/quarry.ts, for providers with a configured token
 * limit), before it serves anything, never while a run waits on the event loop.
 */
export async function preloadTokenizers(models: string[]): Promise<void> {
  const encodings = new Set(models.map(encodingOf).filter((e) => e !== undefined));
  for (const encoding of encodings) {
    if (loaded.has(encoding)) continue;
    const m = encoding === 'o200k_base' ? await import('gpt-tokenizer/encoding/o200k_base') : await import('gpt-tokenizer/encoding/cl100k_base');
    loaded.set(encoding, (text) => m.countTokens(text));
  }
}

/**
 * Tokens a request will be counted for, before it is sent. OpenAI-family models are counted with
 * gpt-tokenizer (their own BPE: o200k for GPT-4o and later, cl100k for GPT-4 and 3.5) once it is
 * loaded (preloadTokenizers); anything else with four characters a token, the usual rule of thumb
 * for English. Whatever the estimate, the bucket is reconciled with the usage the provider reports
 * once the answer is in.
 */
export function createTokenEstimator() {
  return (model: string, request: TeacherRequest): number => {
    const text = requestText(request);
    const encoding = encodingOf(model);
    const count = encoding && loaded.get(encoding);
    return count ? count(text) + OVERHEAD_PER_MESSAGE * (request.messages.length + 1) : charEstimate(text);
  };
}

/** Chat formatting adds a few tokens per message (role markers). */
const OVERHEAD_PER_MESSAGE = 4;

export const charEstimate = (text: string) => Math.ceil(text.length / 4);

/** The encoding of an OpenAI-family model name, or undefined when the name is someone else's. */
export function encodingOf(model: string): 'o200k_base' | 'cl100k_base' | undefined {
  const name = model.replace(/^ft:/, '').replace(/^openai\//, '');
  if (/^gpt-(3\.5|4)(-|$)/.test(name)) return 'cl100k_base';
  if (/^(gpt-|o\d|chatgpt-)/.test(name)) return 'o200k_base';
  return undefined;
}

/** Everything the model reads: system, messages, tool calls and definitions, the answer schema. */
function requestText(request: TeacherRequest): string {
  const parts: string[] = [request.system ?? ''];
  for (const m of request.messages) {
    parts.push(m.content ?? '');
    if (m.role === 'assistant' && m.tool_calls?.length) parts.push(JSON.stringify(m.tool_calls));
  }
  if (request.tools?.length) parts.push(JSON.stringify(request.tools));
  if (request.response) parts.push(JSON.stringify(request.response.schema));
  return parts.join('\n');
}
