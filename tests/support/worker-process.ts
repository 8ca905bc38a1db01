import { spawn, type ChildProcess } from 'node:child_process';
import type { Harness } from './harness.js';

/**
 * `npm run worker` as a child process on the harness's Postgres, talking to its fake teacher
 * (OpenAI by default, Anthropic too), with a short lease so a killed one's tasks come back quickly.
 * `env` adds to or overrides the defaults.
 */
export function startWorkerProcess(h: Harness, env: Record<string, string> = {}, name = 'worker'): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: h.databaseUrl,
      OPENAI_BASE_URL: h.fake.openaiBaseUrl,
      OPENAI_API_KEY: 'sk-test-openai-secret',
      ANTHROPIC_BASE_URL: h.fake.anthropicBaseUrl,
      ANTHROPIC_API_KEY: 'sk-ant-test-secret',
      DEFAULT_PROVIDER: 'openai',
      LEASE_SECONDS: '2',
      POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('error', (err) => console.error(name, err));
  return child;
}
