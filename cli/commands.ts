import { open } from 'node:fs/promises';
import type { operations } from './api.js';
import type { Clients, QuarryClient } from './client.js';
import { CliError, EXIT, apiError, runExitCode, type ExitCode } from './exit-codes.js';
import { followRun, type FollowOptions } from './follow.js';
import { startJob, type JobCommand } from './jobs.js';
import { runLine, type Run } from './progress.js';
import { loadSpec } from './spec.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  follow: Omit<FollowOptions, 'write'>;
}

export interface RunFlags {
  follow: boolean;
  out?: string;
  format?: string;
}

/** The formats GET /v1/datasets/{id}/export takes, from the contract. */
type ExportFormat = operations['exportDataset']['parameters']['query']['format'];

const FORMATS: readonly ExportFormat[] = ['chatml', 'messages', 'alpaca', 'sharegpt', 'openai', 'trl', 'xlam', 'jsonl', 'fairforge'];
const isFormat = (f: string): f is ExportFormat => FORMATS.some((known) => known === f);

export async function jobCommand(clients: Clients, io: Io, command: JobCommand, file: string | undefined, sets: string[], flags: RunFlags): Promise<ExitCode> {
  const run = await startJob(clients, command, loadSpec(command, file, sets));
  io.err(`started ${run.id} (${run.kind})\n`);
  return afterStart(clients.api, io, run, flags);
}

/** Following (or waiting for --out) turns the run's end into the exit code; otherwise queued is success. */
async function afterStart(client: QuarryClient, io: Io, run: Run, flags: RunFlags): Promise<ExitCode> {
  if (!flags.follow && !flags.out) {
    io.out(`${run.id}\n`);
    return EXIT.succeeded;
  }
  const ended = await followRun(client, run.id, { ...io.follow, ...(flags.follow ? {} : { tty: false, printEveryMs: Infinity }), write: flags.follow ? io.err : () => {} });
  if (!flags.follow) io.err(`${runLine(ended)}\n`);
  const code = runExitCode(ended);
  if (code === EXIT.succeeded && flags.out) {
    const datasetId = ended.output.dataset_id;
    if (!datasetId) throw new CliError(EXIT.other, `run ${ended.id} has no output dataset to download`);
    await exportDataset(client, io, datasetId, flags.format ?? ended.output.export?.format ?? 'jsonl', flags.out);
  }
  io.out(`${ended.id}\n`);
  return code;
}

export async function exportDataset(client: QuarryClient, io: Io, id: string, format: string, out: string): Promise<ExitCode> {
  if (!isFormat(format)) throw new CliError(EXIT.invalid, `--format ${format}: one of ${FORMATS.join(', ')}`);
  const { data, error, response } = await client.GET('/v1/datasets/{id}/export', { params: { path: { id }, query: { format } }, parseAs: 'stream' });
  if (!data) throw apiError(response.status, error);
  // Written as it arrives: a dataset can be far larger than memory.
  const file = await open(out, 'w');
  try {
    const reader = data.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) await file.write(chunk.value);
  } finally {
    await file.close();
  }
  io.err(`wrote ${out} (${format})\n`);
  return EXIT.succeeded;
}

const REPORT_FORMATS = ['json', 'markdown'] as const;

/** A run's report (GET /v1/runs/{id}/report) on stdout as the service wrote it: JSON for jq, or markdown for a CI log. */
export async function printReport(client: QuarryClient, io: Io, id: string, format: string): Promise<ExitCode> {
  const wanted = REPORT_FORMATS.find((f) => f === format);
  if (!wanted) throw new CliError(EXIT.invalid, `--format ${format}: one of ${REPORT_FORMATS.join(', ')}`);
  const { data, error, response } = await client.GET('/v1/runs/{id}/report', { params: { path: { id }, query: { format: wanted } }, parseAs: 'text' });
  if (data === undefined) throw apiError(response.status, error);
  io.out(data.endsWith('\n') ? data : `${data}\n`);
  return EXIT.succeeded;
}

export async function listRuns(client: QuarryClient, io: Io, status: string | undefined, limit: number): Promise<ExitCode> {
  const statuses = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
  const wanted = statuses.find((s) => s === status);
  if (status !== undefined && !wanted) throw new CliError(EXIT.invalid, `--status ${status}: one of ${statuses.join(', ')}`);
  const { data, error, response } = await client.GET('/v1/runs', { params: { query: { limit, ...(wanted ? { status: wanted } : {}) } } });
  if (!data) throw apiError(response.status, error);
  for (const run of data.runs) io.out(`${runLine(run)}\n`);
  return EXIT.succeeded;
}

export async function listDatasets(client: QuarryClient, io: Io, limit: number): Promise<ExitCode> {
  const { data, error, response } = await client.GET('/v1/datasets', { params: { query: { limit } } });
  if (!data) throw apiError(response.status, error);
  for (const d of data.datasets) io.out(`${d.id} | ${d.name} | records ${d.record_count} | ${d.run_id ?? '-'} | ${d.created_at}\n`);
  return EXIT.succeeded;
}

export async function cancelRun(client: QuarryClient, io: Io, id: string, flags: RunFlags): Promise<ExitCode> {
  const { data, error, response } = await client.POST('/v1/runs/{id}/cancel', { params: { path: { id } } });
  if (!data) throw apiError(response.status, error);
  io.err(`${runLine(data.run)}\n`);
  if (flags.follow) return runExitCode(await followRun(client, id, { ...io.follow, write: io.err }));
  return EXIT.succeeded;
}

export async function retryRun(client: QuarryClient, io: Io, id: string, flags: RunFlags): Promise<ExitCode> {
  const { data, error, response } = await client.POST('/v1/runs/{id}/retry', { params: { path: { id } }, body: {} });
  if (!data) throw apiError(response.status, error);
  return afterStart(client, io, data.run, flags);
}
