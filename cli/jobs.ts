import type { Clients } from './client.js';
import { apiError } from './exit-codes.js';
import type { Run } from './progress.js';
import type { JobBody } from './spec.js';

/** Each job command and the endpoint whose body its spec file is. */
export const JOB_COMMANDS = {
  generate: '/v1/generate',
  enrich: '/v1/enrich',
  curate: '/v1/curate',
  topics: '/v1/topics',
  tools: '/v1/tools/generate',
  compare: '/v1/compare',
  select: '/v1/select',
  pipeline: '/v1/pipelines',
} as const;

export type JobCommand = keyof typeof JOB_COMMANDS;

export const isJobCommand = (name: string): name is JobCommand => Object.hasOwn(JOB_COMMANDS, name);

/**
 * Starts a run. The spec is the body as the caller wrote it: the service validates it (a 400 names
 * the field), so the CLI passes it through rather than re-checking it against the generated types.
 */
export async function startJob(clients: Clients, command: JobCommand, spec: JobBody): Promise<Run> {
  const path = JOB_COMMANDS[command];
  const { data, error, response } =
    spec.kind === 'yaml'
      ? await clients.yaml.POST('/v1/pipelines', {
          body: spec.text,
          bodySerializer: (text) => text,
          headers: { 'content-type': 'application/yaml' },
        })
      : await clients.api.POST(path, { body: passThrough(spec.body) });
  if (!data) throw apiError(response.status, error);
  if (!('run' in data)) throw apiError(response.status, { error: { message: 'expected a run (was dry_run set? use the API for plans)' } });
  return data.run;
}

// The one place the CLI sends a body it has not typed: the server is the validator, and its 400
// names the field (exit 2), which is what a CI log needs.
const passThrough = (body: Record<string, unknown>): any => body;
