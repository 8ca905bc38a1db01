import createClient from 'openapi-fetch';
import type { paths } from './api.js';

/** The client every command uses: typed from the committed contract (cli/api.d.ts, `npm run client`). */
export type QuarryClient = ReturnType<typeof createClient<paths>>;
/** The same contract read through its YAML media type: POST /v1/pipelines takes a DeepFabric config. */
export type QuarryYamlClient = ReturnType<typeof createClient<paths, 'application/yaml'>>;

export interface Clients {
  api: QuarryClient;
  yaml: QuarryYamlClient;
}

export interface ClientEnv {
  QUARRY_URL?: string;
  QUARRY_API_KEY?: string;
}

/** The service's default port (src/config.ts PORT). */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Server and key come from the environment only, so a CI job sets them once as secrets. */
export function quarryClients(env: ClientEnv): Clients {
  const headers: Record<string, string> = env.QUARRY_API_KEY ? { authorization: `Bearer ${env.QUARRY_API_KEY}` } : {};
  const options = { baseUrl: (env.QUARRY_URL || DEFAULT_URL).replace(/\/+$/, ''), headers };
  return { api: createClient<paths>(options), yaml: createClient<paths, 'application/yaml'>(options) };
}
