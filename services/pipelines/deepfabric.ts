import { Lexer, parse as parseYaml } from 'yaml';
import { AppError } from '../../src/errors.js';
import { samplePercent } from '../generate/from-topics.js';
import { LIMITS, tooLarge } from '../limits.js';
import { assertAcceptable } from '../../src/safe-input.js';
import type { PipelineSpec } from './pipeline.spec.js';
import { Reader, type Obj } from './deepfabric-reader.js';
import { V3_KNOWN, V4_KNOWN, v3, v4, type SystemMessage, type Translated } from './deepfabric-layouts.js';
import { toolsPipeline } from './deepfabric-tools.js';

/** `deepfabric generate` overrides, passed as query parameters. */
export interface DeepFabricOverrides {
  provider?: string;
  model?: string;
  temperature?: number;
  degree?: number;
  depth?: number;
  num_steps?: number;
  num_samples?: string;
  batch_size?: number;
  sys_msg?: boolean;
  mode?: 'tree' | 'graph';
  /** A Quarry tool set giving the definitions a config keeps in a Spin service or a registry file. */
  tools_id?: string;
}

/** The translated pipeline, and what the report and later checks need to speak in the config's terms. */
export interface Translation {
  spec: PipelineSpec;
  layout: 'v3' | 'v4';
  ignored: string[];
  /** Why each ignored setting is ignored, and what Quarry did where it differs from DeepFabric. */
  notes: Record<string, string>;
  /** Spec path → the YAML setting (or query parameter) it came from. */
  origins: Record<string, string>;
}

/**
 * Translates a DeepFabric config (v3 `topic_tree|topic_graph / data_engine / dataset`, or v4
 * `llm / topics / generation / output`) and the `deepfabric generate` overrides into a
 * topics → generate pipeline (its records carry the system message, so the export link adds none),
 * or topics → tools for a config with tools (`deepfabric-tools.ts`).
 * Every setting is either mapped, listed as ignored with a note, or a 400 naming it.
 */
export function fromDeepFabric(yamlText: string, overrides: DeepFabricOverrides): Translation {
  const bytes = Buffer.byteLength(yamlText);
  if (bytes > LIMITS.yamlBytes) {
    throw new AppError('validation_failed', `the config is ${bytes} bytes; at most ${LIMITS.yamlBytes}`, [{ field: 'body', message: `a DeepFabric config is at most ${LIMITS.yamlBytes / 1024} KiB` }]);
  }
  // Parsing costs grow with the number of YAML nodes, not bytes (64 KiB of `k: v` lines took
  // 50–280 ms, 64 KiB of prose 2 ms); the lexer counts tokens cheaply and stops at the bound.
  let tokens = 0;
  for (const _ of new Lexer().lex(yamlText)) {
    if (++tokens > LIMITS.yamlTokens) {
      throw new AppError('validation_failed', `the config has more than ${LIMITS.yamlTokens} YAML tokens`, [{ field: 'body', message: `a DeepFabric config has at most ${LIMITS.yamlTokens} YAML tokens (keys, values, indentation)` }]);
    }
  }
  let doc: unknown;
  try {
    // Repeated keys keep the last value, as PyYAML (DeepFabric) does; checking them costs the yaml
    // library quadratic time (50,000 keys blocked the process for 140 s). Aliases are capped
    // against exponential expansion.
    doc = parseYaml(yamlText, { uniqueKeys: false, maxAliasCount: LIMITS.yamlAliases });
  } catch (err) {
    throw new AppError('validation_failed', `the config is not valid YAML: ${(err as Error).message}`, [{ field: 'body', message: (err as Error).message.split('\n')[0] }]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new AppError('validation_failed', 'the config must be a YAML mapping', [{ field: 'body', message: 'not a mapping' }]);
  // YAML escapes ("\0", "\ud800") decode to what Postgres cannot store; refused like in JSON bodies.
  assertAcceptable(doc);
  const d = doc as Obj;
  const isV4 = ['llm', 'topics', 'generation', 'output'].some((k) => k in d);
  const isV3 = ['topic_tree', 'topic_graph', 'data_engine', 'dataset'].some((k) => k in d);
  if (isV4 && isV3) throw new AppError('validation_failed', 'the config mixes the v3 layout (topic_tree/data_engine/dataset) with v4 (topics/generation/output)', [{ field: 'body', message: 'mixed layouts' }]);
  if (!isV4 && !isV3) throw new AppError('validation_failed', 'not a DeepFabric config: expected topics/generation/output (v4) or topic_tree/data_engine/dataset (v3)', [{ field: 'body', message: 'unknown layout' }]);
  const reader = new Reader(isV4 ? V4_KNOWN : V3_KNOWN);
  reader.section(d, '');
  const { system, tools, ...spec } = isV4 ? v4(d, reader, overrides.tools_id) : v3(d, reader, overrides.tools_id);
  if (reader.details.length) throw new AppError('validation_failed', reader.details.map((x) => `${x.field}: ${x.message}`).join('; '), reader.details);
  if (overrides.tools_id !== undefined && !tools) {
    throw new AppError('validation_failed', 'tools_id: the config declares no tools', [{ field: 'tools_id', message: 'only for a config with generation.tools (v3: tool_registry_path)' }]);
  }
  applyOverrides(spec, overrides, reader);
  systemMessage(spec.generate, system, overrides.sys_msg, reader);
  const translated = tools ? toolsPipeline({ ...spec, tools }, reader) : spec;
  if (reader.details.length) throw new AppError('validation_failed', reader.details.map((x) => `${x.field}: ${x.message}`).join('; '), reader.details);
  return { spec: prune(translated) as PipelineSpec, layout: isV4 ? 'v4' : 'v3', ignored: reader.ignored, notes: reader.notes, origins: reader.origins };
}

/**
 * DeepFabric's sys_msg: the records start with the dataset system prompt, or carry none. The
 * generation instruction never stands in for it (DeepFabric copies it when no dataset prompt is
 * set; the report says where that differs), and no export link adds one back.
 */
function systemMessage(generate: Translated['generate'], system: SystemMessage, override: boolean | undefined, r: Reader) {
  const include = override ?? system.include;
  if (include && system.prompt !== undefined) {
    generate.dataset_system_prompt = system.prompt;
    generate.include_system_message = r.from('generate.include_system_message', override === undefined ? system.promptPath : 'sys_msg', true);
    return;
  }
  generate.include_system_message = false;
  if (include) r.notes[system.promptPath] = `not set, so the records have no system message (DeepFabric would copy ${system.fallbackPath}, the instruction to the teacher, into every record)`;
}

function applyOverrides(spec: Translated, o: DeepFabricOverrides, r: Reader) {
  const t = spec.topics;
  const g = spec.generate;
  if (o.num_samples !== undefined && o.num_steps !== undefined) {
    throw new AppError('validation_failed', 'num_samples and num_steps both set the sample count', [{ field: 'num_steps', message: 'give num_samples or num_steps, not both' }]);
  }
  for (const [stage, name] of [[t, 'topics'], [g, 'generate']] as const) {
    for (const key of ['provider', 'model', 'temperature'] as const) {
      if (o[key] !== undefined) stage.llm = { ...stage.llm, [key]: r.from(`${name}.llm.${key}`, key, o[key]) };
    }
  }
  if (o.mode !== undefined) t.mode = r.from('topics.mode', 'mode', o.mode);
  if (t.mode === 'tree') delete t.prompt_style;
  if (o.degree !== undefined) t.degree = r.from('topics.degree', 'degree', o.degree);
  if (o.depth !== undefined) t.depth = r.from('topics.depth', 'depth', o.depth);
  if (o.num_samples !== undefined && o.num_samples.endsWith('%')) samplePercent(o.num_samples);
  if (o.num_samples !== undefined && /^\d+$/.test(o.num_samples)) {
    const count = Number(o.num_samples);
    if (count < 1 || count > LIMITS.numSamples) throw tooLarge('num_samples', `must be a whole number from 1 to ${LIMITS.numSamples.toLocaleString('en-US')}, "auto" or "N%"`);
    g.num_samples = r.from('generate.num_samples', 'num_samples', count);
  } else if (o.num_samples !== undefined) g.num_samples = r.from('generate.num_samples', 'num_samples', o.num_samples);
  if (o.num_steps !== undefined) {
    const count = o.num_steps * (o.batch_size ?? g.batch_size ?? 1);
    if (count > LIMITS.numSamples) throw tooLarge('num_steps', `num_steps × batch_size is ${count.toLocaleString('en-US')} samples; at most ${LIMITS.numSamples.toLocaleString('en-US')} per run`);
    g.num_samples = r.from('generate.num_samples', 'num_steps', count);
  }
  if (o.batch_size !== undefined) g.batch_size = r.from('generate.batch_size', 'batch_size', o.batch_size);
}

/** Drops undefined fields so the translated spec validates like one a client wrote. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, prune(v)] as const);
    return Object.fromEntries(entries.filter(([, v]) => !(v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)));
  }
  return value;
}
