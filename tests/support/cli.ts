import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The package's bin, as `npx quarry` runs it. */
export const QUARRY_BIN = fileURLToPath(new URL('../../bin/quarry.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process with pipes (so not a TTY), against `url`. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 45_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QUARRY_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', QUARRY_POLL_MS: '100', QUARRY_PROGRESS_SECONDS: '0.3', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
