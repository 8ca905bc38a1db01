import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RunView } from '../services/runs/run-view.js';
import { TERMINAL_STATUSES } from '../services/runs/run-view.js';
import { MAX_PREFER_WAIT_MS } from '../src/config.js';
import { AppError } from '../src/errors.js';
import { parsePrefer } from '../src/http/prefer.js';

/** The longest `Prefer: wait` honoured; the connection timeout is checked against the same bound. */
export const MAX_WAIT_SECONDS = MAX_PREFER_WAIT_MS / 1000;

/** What a request's Prefer header (RFC 7240) asks of a route that answers with a run. */
export interface Preferences {
  /** Seconds to hold the answer for the run to end, at most MAX_WAIT_SECONDS; 0: answer at once. */
  wait: number;
  /** `respond-async`: answer 202 with the run rather than wait for it (the default without `wait`). */
  respondAsync: boolean;
}

/**
 * Reads the Prefer header before any work is done. Preferences Quarry does not know are ignored, as
 * RFC 7240 asks; a `wait` that is not a whole number of seconds is a 400 naming the header.
 */
export function preferencesOf(request: FastifyRequest): Preferences {
  const preferences = parsePrefer(request.headers.prefer);
  const wait = preferences.get('wait');
  if (wait && (wait.malformed || !/^\d{1,15}$/.test(wait.value ?? ''))) {
    const message = `wait must be a whole number of seconds (wait=N, N at most ${MAX_WAIT_SECONDS}); got ${JSON.stringify((wait.value ?? '').slice(0, 40))}`;
    throw new AppError('validation_failed', `Prefer header: ${message}`, [{ field: 'prefer', message }]);
  }
  return { wait: wait ? Math.min(MAX_WAIT_SECONDS, Number(wait.value)) : 0, respondAsync: preferences.has('respond-async') };
}

/**
 * 202 while the run is going, 200 once it has ended (only reachable with `Prefer: wait`);
 * `Preference-Applied` names the preferences the answer honoured.
 */
export function sendRun(reply: FastifyReply, run: RunView, preferences: Preferences) {
  const ended = preferences.wait > 0 && TERMINAL_STATUSES.has(run.status);
  const applied = [...(preferences.wait > 0 ? [`wait=${preferences.wait}`] : []), ...(preferences.respondAsync && !ended ? ['respond-async'] : [])];
  if (applied.length > 0) reply.header('preference-applied', applied.join(', '));
  reply.header('location', run.links.self);
  return reply.status(ended ? 200 : 202).send({ run });
}
