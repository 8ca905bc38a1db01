import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RunView } from '../services/runs/run-view.js';
import { TERMINAL_STATUSES } from '../services/runs/run-view.js';
import { MAX_PREFER_WAIT_MS } from '../src/config.js';

/** The longest `Prefer: wait` honoured; the connection timeout is checked against the same bound. */
const MAX_WAIT_SECONDS = MAX_PREFER_WAIT_MS / 1000;

export function preferWait(request: FastifyRequest): number {
  const match = /wait\s*=\s*(\d+)/.exec(String(request.headers.prefer ?? ''));
  return match ? Math.min(MAX_WAIT_SECONDS, Number(match[1])) : 0;
}

/** 202 while the run is going, 200 once it has ended (only reachable with Prefer: wait). */
export function sendRun(reply: FastifyReply, run: RunView, waited: number) {
  if (waited > 0) reply.header('preference-applied', `wait=${waited}`);
  reply.header('location', run.links.self);
  return reply.status(TERMINAL_STATUSES.has(run.status) && waited > 0 ? 200 : 202).send({ run });
}
