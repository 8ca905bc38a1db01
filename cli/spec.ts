import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { CliError, EXIT } from './exit-codes.js';

/** What a job command sends: a JSON body, or (pipeline only) a DeepFabric config as YAML text. */
export type JobBody = { kind: 'json'; body: Record<string, unknown> } | { kind: 'yaml'; text: string };

/** Top-level fields of a Quarry pipeline spec: a YAML file with only these is sent as JSON. */
const PIPELINE_FIELDS = new Set(['name', 'dataset_id', 'topics', 'generate', 'tools', 'enrich', 'curate', 'select', 'export', 'compare', 'max_cost_usd', 'dry_run', 'cache']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A spec file (JSON, or YAML by extension) with `--set a.b=value` overrides applied. For `pipeline`,
 * a YAML file that is not a Quarry pipeline spec is a DeepFabric config: it goes as application/yaml,
 * as POST /v1/pipelines takes it, and the server translates it.
 */
export function loadSpec(command: string, file: string | undefined, sets: string[]): JobBody {
  let text: string;
  try {
    text = file === undefined || file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(EXIT.invalid, `cannot read spec ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const yaml = file !== undefined && /\.ya?ml$/i.test(file);
  let spec: unknown;
  try {
    spec = yaml ? parse(text) : JSON.parse(text);
  } catch (e) {
    throw new CliError(EXIT.invalid, `spec ${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(spec)) throw new CliError(EXIT.invalid, `spec ${file}: must be an object`);
  for (const assignment of sets) applySet(spec, assignment);
  const deepfabric = command === 'pipeline' && yaml && Object.keys(spec).some((k) => !PIPELINE_FIELDS.has(k));
  if (deepfabric) return { kind: 'yaml', text: sets.length ? stringify(spec) : text };
  return { kind: 'json', body: spec };
}

/** `a.b.c=value`: value parsed as JSON when it is JSON (numbers, booleans, arrays), else a string. */
export function applySet(spec: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new CliError(EXIT.invalid, `--set ${assignment}: expected key=value`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare word is a string
  }
  let node = spec;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isObject(next)) node = next;
    else node = node[key] = {};
  }
  node[path[path.length - 1]] = value;
}
