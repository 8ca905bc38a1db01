import { AppError, type ErrorDetail } from './errors.js';

/** A 429: the caller is over a quota. The error handler sends `Retry-After` with it. */
export class RateLimited extends AppError {
  constructor(
    message: string,
    details: ErrorDetail[],
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message, details);
  }
}
