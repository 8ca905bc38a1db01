import { parseArgs } from 'node:util';
import { quarryClients } from './client.js';
import { cancelRun, exportDataset, jobCommand, listDatasets, listRuns, printReport, retryRun, type Io } from './commands.js';
import { CliError, EXIT } from './exit-codes.js';
import { JOB_COMMANDS, isJobCommand } from './jobs.js';

export const HELP = `quarry — run Quarry jobs from a terminal or a CI job

Usage:
  quarry <${Object.keys(JOB_COMMANDS).join('|')}> <spec.json|spec.yaml|-> [--set key.path=value]... [--follow] [--out FILE [--format F]]
  quarry runs [--status queued|running|succeeded|failed|canceled] [--limit N]
  quarry datasets [--limit N]
  quarry export <dataset_id> --format F --out FILE
  quarry report <run_id> [--format json|markdown]
  quarry cancel <run_id> [--follow]
  quarry retry <run_id> [--follow] [--out FILE [--format F]]

A job command's spec file is the body of its POST (generate: /v1/generate, tools: /v1/tools/generate,
pipeline: /v1/pipelines, …); \`quarry pipeline config.yaml\` also takes a DeepFabric config.
--follow prints progress (redrawn lines on a terminal, plain lines every QUARRY_PROGRESS_SECONDS, default 5,
and on each status or stage change otherwise) and exits with the run's outcome. --out waits and downloads
the output dataset (--format: chatml, messages, alpaca, sharegpt, openai, trl, xlam, jsonl, fairforge).
\`quarry report\` prints a run's report (GET /v1/runs/{id}/report) to stdout, JSON (default) for jq or markdown.

Environment: QUARRY_URL (default http://127.0.0.1:3000), QUARRY_API_KEY (sent as Authorization: Bearer).
Exit codes: 0 succeeded (or queued, without --follow/--out), 1 other error (cannot connect, 5xx),
2 invalid request (4xx: each field is printed), 3 run failed, 4 run canceled, 5 budget exceeded.
`;

export interface MainEnv {
  QUARRY_URL?: string;
  QUARRY_API_KEY?: string;
  QUARRY_PROGRESS_SECONDS?: string;
  QUARRY_POLL_MS?: string;
}

const OPTIONS = {
  set: { type: 'string', multiple: true },
  follow: { type: 'boolean', short: 'f' },
  out: { type: 'string', short: 'o' },
  format: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses, runs one command and returns its exit code; never throws. */
export async function main(argv: string[], env: MainEnv = process.env, io: Io = processIo(env)): Promise<number> {
  try {
    return await dispatch(argv, env, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`quarry: ${e.message}\n`);
      return e.exitCode;
    }
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
    io.err(`quarry: ${e instanceof Error ? e.message : String(e)}${cause}\n`);
    return EXIT.other;
  }
}

async function dispatch(argv: string[], env: MainEnv, io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    throw new CliError(EXIT.invalid, `${e instanceof Error ? e.message : String(e)}\n${HELP}`);
  }
  const { values, positionals } = parsed;
  const [command, target] = positionals;
  if (values.help || !command) {
    io.out(HELP);
    return values.help ? EXIT.succeeded : EXIT.invalid;
  }
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliError(EXIT.invalid, '--limit: an integer from 1 to 200');
  const clients = quarryClients(env);
  const flags = { follow: values.follow ?? false, out: values.out, format: values.format };
  const need = (what: string) => {
    if (!target) throw new CliError(EXIT.invalid, `quarry ${command} needs ${what}`);
    return target;
  };
  if (isJobCommand(command)) return jobCommand(clients, io, command, target, values.set ?? [], flags);
  switch (command) {
    case 'runs':
      return listRuns(clients.api, io, values.status, limit);
    case 'datasets':
      return listDatasets(clients.api, io, limit);
    case 'export':
      if (!values.out) throw new CliError(EXIT.invalid, 'quarry export needs --out FILE');
      return exportDataset(clients.api, io, need('a dataset id'), values.format ?? 'jsonl', values.out);
    case 'report':
      return printReport(clients.api, io, need('a run id'), values.format ?? 'json');
    case 'cancel':
      return cancelRun(clients.api, io, need('a run id'), flags);
    case 'retry':
      return retryRun(clients.api, io, need('a run id'), flags);
    default:
      throw new CliError(EXIT.invalid, `unknown command ${command}\n${HELP}`);
  }
}

function processIo(env: MainEnv): Io {
  const seconds = Number(env.QUARRY_PROGRESS_SECONDS ?? 5);
  const pollMs = Number(env.QUARRY_POLL_MS ?? 1000);
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    follow: {
      tty: process.stderr.isTTY === true,
      printEveryMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 5000,
      pollMs: Number.isFinite(pollMs) && pollMs >= 50 ? pollMs : 1000,
    },
  };
}
