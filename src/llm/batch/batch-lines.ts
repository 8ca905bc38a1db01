import type { BatchLimits, BatchLine, BatchLineResult } from './batch-types.js';
import { LlmError } from '../llm.errors.js';
import type { Provider } from '../providers.js';
import { CUSTOM_ID_PATTERN, MAX_CUSTOM_ID_LENGTH } from './custom-id.js';

/**
 * How far before `since` a provider's creation time may lie and still count for `find`: the
 * provider's clock is not ours.
 */
export const CLOCK_SLACK_MS = 2 * 60_000;

/** Why a line cannot go into a batch (the same refusals the online adapters make), or undefined. */
export function lineProblem(provider: Provider, line: BatchLine): string | undefined {
  if (!CUSTOM_ID_PATTERN.test(line.custom_id)) return `custom_id ${JSON.stringify(line.custom_id)} must be 1 to ${MAX_CUSTOM_ID_LENGTH} characters of [A-Za-z0-9_-]`;
  const { response, tools } = line.request;
  // The Anthropic adapter's answer tool is named like the schema (anthropic.adapter.ts toolsOf).
  if (provider.kind === 'anthropic' && response && tools?.some((t) => t.name === response.name)) return `a tool is named "${response.name}", like the response schema`;
  return undefined;
}

/** What submit refuses before calling the provider: no lines, too many, a bad or repeated custom_id, several models (OpenAI). */
export function checkBatch(provider: Provider, lines: BatchLine[], limits: BatchLimits): void {
  const refuse = (message: string) => {
    throw new LlmError('api', `batch for provider "${provider.name}": ${message}`);
  };
  if (lines.length === 0) refuse('no lines');
  if (lines.length > limits.maxLines) refuse(`${lines.length} lines, more than the ${limits.maxLines} one batch may hold`);
  const seen = new Set<string>();
  for (const line of lines) {
    const problem = lineProblem(provider, line);
    if (problem) refuse(`line ${line.custom_id}: ${problem}`);
    if (seen.has(line.custom_id)) refuse(`custom_id ${line.custom_id} appears twice`);
    seen.add(line.custom_id);
  }
  // OpenAI's Batch API takes one model per input file.
  if (provider.kind === 'openai' && new Set(lines.map((l) => l.model)).size > 1) refuse('an OpenAI batch holds one model; split the lines by model');
}

/** The payload's size against the provider's byte limit, measured on what is actually sent. */
export function checkBytes(provider: Provider, bytes: number, limits: BatchLimits): void {
  if (bytes > limits.maxBytes) throw new LlmError('api', `batch for provider "${provider.name}": ${bytes} bytes, more than the ${limits.maxBytes} one batch may hold`);
}

/** A line's failure as the result carries it. */
export function lineFailure(custom_id: string, err: unknown): BatchLineResult {
  const error = err instanceof LlmError ? err : new LlmError('api', (err as Error)?.message ?? String(err));
  return { custom_id, error: { category: error.category, message: error.message } };
}

export const isRecord = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
