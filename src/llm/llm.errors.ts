/** The categories a caller sees on a failed record; fixed so dashboards and retries can key on them. */
export type FailureCategory = 'json' | 'schema' | 'length' | 'refusal' | 'rate_limit' | 'timeout' | 'api' | 'auth' | 'canceled';

export class LlmError extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
    readonly options: {
      /** Worth another attempt of the task later. */
      retryable?: boolean;
      /** No task of this run can succeed (bad key, unreachable provider): fail the run now. */
      fatal?: boolean;
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

/** Whatever a call threw, as an LlmError: an abort is `canceled`, anything unknown a retryable `api` failure. */
export function toLlmError(err: unknown, signal: AbortSignal): LlmError {
  if (err instanceof LlmError) return err;
  if (signal.aborted) return new LlmError('canceled', 'aborted');
  return new LlmError('api', (err as Error)?.message ?? String(err), { retryable: true });
}
