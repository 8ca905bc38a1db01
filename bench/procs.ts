// Child processes for the benchmark and what /proc says about them.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// `node --import tsx` rather than `npm start`/`tsx`, which put wrapper processes in between: the
// child's pid is then the very process whose CPU and memory we read and which we stop.
const TSX = ['--import', 'tsx'];

export function startFake(latencyMs: number): Promise<{ child: ChildProcess; url: string }> {
  // Each pending fake answer listens on one shared close signal, so 11+ in flight print a false leak warning.
  const args = [...TSX, '--disable-warning=MaxListenersExceededWarning', 'src/fake-llm/cli.ts', '--port', '0', '--latency', String(latencyMs)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b) => {
      const m = /listening on (http\S+)/.exec((out += b));
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`fake-llm exited before listening (code ${code})`)));
  });
}

export function startService(env: Record<string, string>, cpuProfDir?: string): Promise<{ child: ChildProcess; url: string }> {
  const execArgv = [...TSX, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [])];
  const child = fork(`${ROOT}bench/service.ts`, [], { cwd: ROOT, execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m: any) => m?.type === 'ready' && resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`service exited before listening (code ${code})`)));
  });
}

/** One IPC round trip to bench/service.ts; undefined if it does not answer (the figures are then n/a, not fatal). */
export function ask(child: ChildProcess, type: string): Promise<any> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 2000);
    child.on('message', (m: any) => m?.type === type && (clearTimeout(timer), resolve(m)));
    child.send(type);
  });
}

export async function stopChild(child: ChildProcess | undefined, ask: () => void, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  ask();
  if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) {
    console.error(`bench: pid ${child.pid} did not stop within ${graceMs} ms; killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

// USER_HZ is 100 on Linux: one tick is 10 ms.
export function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime
  } catch {
    return 0;
  }
}

/** CPU time the whole machine spent busy (all cores): user nice system (idle iowait) irq softirq steal. */
export function machineBusyMs(): number {
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 9).map(Number);
  return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) * 10;
}

/** Peak resident set of a process (VmHWM), in bytes. */
export function peakRssBytes(pid: number | undefined): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A standalone worker (src/worker.ts, as `npm run worker` runs it); resolves once it claims. */
export function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...TSX, 'src/worker.ts'], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out = (out + b).slice(-4096);
      if (out.includes('worker started')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited before starting (code ${code})`)));
  });
}
