/** What a CI job can branch on; documented in the README's CLI section. */
export const EXIT = {
  succeeded: 0,
  other: 1,
  invalid: 2,
  failed: 3,
  canceled: 4,
  budgetExceeded: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI ends with: its message goes to stderr, its code is the exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const text = (v: unknown) => (typeof v === 'string' ? v : '');

/** A non-2xx answer: 4xx is the caller's request (exit 2, with each field named), anything else exit 1. */
export function apiError(status: number, body: unknown): CliError {
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  const lines = [`HTTP ${status} ${text(error?.code)}: ${error ? text(error.message) : JSON.stringify(body)}`];
  const details = error && Array.isArray(error.details) ? error.details.filter(isObject) : [];
  for (const d of details) lines.push(`  ${text(d.field) || '(request)'}: ${text(d.message)}`);
  return new CliError(status >= 400 && status < 500 ? EXIT.invalid : EXIT.other, lines.join('\n'));
}

/** The exit code of a run that ended. */
export function runExitCode(run: { status: string; error?: { category: string } }): ExitCode {
  if (run.status === 'succeeded') return EXIT.succeeded;
  if (run.status === 'canceled') return EXIT.canceled;
  if (run.error?.category === 'budget_exceeded') return EXIT.budgetExceeded;
  return EXIT.failed;
}
