import type { FailureCategory } from '../llm.errors.js';
import type { Provider } from '../providers.js';
import type { TeacherRequest, TeacherResponse } from '../teacher-request.js';

/** One call of a batch: `request` in wire form, as `ResolvedCall.request`. */
export interface BatchLine {
  custom_id: string;
  model: string;
  request: TeacherRequest;
}

export type BatchState = 'in_progress' | 'ended' | 'canceled' | 'failed' | 'expired';

export interface BatchStatus {
  state: BatchState;
  counts: { total: number; succeeded: number; errored: number; canceled: number; expired: number };
  ended_at?: string;
}

/** A line's answer, or why it has none (a 4xx/5xx line, a refused or truncated answer stays a `response`). */
export interface BatchLineResult {
  custom_id: string;
  response?: TeacherResponse;
  error?: { category: FailureCategory; message: string };
}

export interface BatchApi {
  /**
   * Submits the lines as one provider batch; `localId` is recorded with it (OpenAI: metadata; Anthropic: in every custom_id prefix or however you can) so `find` can recover it.
   * custom_ids: 1 to MAX_CUSTOM_ID_LENGTH (40) characters of [A-Za-z0-9_-], unique; OpenAI: one model per batch.
   * The create call is never retried inside: after any error, ask `find` before submitting again.
   */
  submit(provider: Provider, lines: BatchLine[], localId: string, signal?: AbortSignal): Promise<{ providerBatchId: string }>;
  /**
   * After a crash between submit and recording the id: the provider batch submitted for `localId`, if any (created after `since`).
   * Anthropic batches can be recognised only once they end: while a batch created after `since` is
   * still in progress this throws a retryable LlmError (`retryAfterMs`) instead of answering "none".
   */
  find(provider: Provider, localId: string, since: Date, signal?: AbortSignal): Promise<string | undefined>;
  status(provider: Provider, providerBatchId: string, signal?: AbortSignal): Promise<BatchStatus>;
  /** In any final state: one result per line that has one (any order; a failed OpenAI batch fails every line). Before: a retryable LlmError. */
  results(provider: Provider, providerBatchId: string, signal?: AbortSignal): Promise<BatchLineResult[]>;
  /** A no-op on a batch that already ended or is being canceled. */
  cancel(provider: Provider, providerBatchId: string, signal?: AbortSignal): Promise<void>;
}

/**
 * What one provider batch may hold (the providers' documented limits): OpenAI's Batch API takes
 * an input file of at most 50,000 lines and 200 MB; Anthropic's Message Batches at most 100,000
 * requests and 256 MB. A submitter splits its calls so no batch crosses either bound.
 */
export const OPENAI_BATCH_LIMITS = { maxLines: 50_000, maxBytes: 200 * 1024 * 1024 } as const;
export const ANTHROPIC_BATCH_LIMITS = { maxLines: 100_000, maxBytes: 256 * 1024 * 1024 } as const;

export interface BatchLimits {
  maxLines: number;
  maxBytes: number;
}

/** The limits of the provider's batch API. */
export const batchLimits = (provider: Provider): BatchLimits => (provider.kind === 'anthropic' ? ANTHROPIC_BATCH_LIMITS : OPENAI_BATCH_LIMITS);

/** One provider's batch API: `BatchApi` with the provider bound. */
export type ProviderBatches = {
  [K in keyof BatchApi]: BatchApi[K] extends (provider: Provider, ...rest: infer A) => infer R ? (...rest: A) => R : never;
};
