import { Lexer, parse as parseYaml } from 'yaml';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { samplePercent } from '../generate/from-topics.js';
import { LIMITS } from '../limits.js';
import { assertAcceptable } from '../../src/safe-input.js';
import type { PipelineSpec } from './pipeline.spec.js';

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
}

type Obj = Record<string, any>;
type Translation = { spec: PipelineSpec; layout: 'v3' | 'v4'; ignored: string[] };

/** Settings that mean nothing to a service (local files, uploads, terminal UI): accepted and listed in the report. */
const IGNORED = new Set(['save_as', 'max_concurrent', 'rate_limit', 'checkpoint', 'huggingface', 'kaggle', 'evaluation', 'sample_retries']);
const UNSUPPORTED: Record<string, string> = {
  base_url: 'configure the server as a provider (PROVIDERS_FILE) and name it with provider',
  tools: 'agent mode with tools is not supported yet',
  agent_mode: 'agent mode with tools is not supported yet',
  available_tools: 'agent mode with tools is not supported yet',
  custom_tools: 'agent mode with tools is not supported yet',
  tool_registry_path: 'agent mode with tools is not supported yet',
};

class Reader {
  details: ErrorDetail[] = [];
  ignored: string[] = [];
  constructor(private readonly known: Record<string, readonly string[]>) {}

  /** The section at `path`, checking its keys: unknown ones and unsupported ones are 400s naming them. */
  section(value: unknown, path: string): Obj {
    if (value === undefined) return {};
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      this.details.push({ field: path, message: 'must be a mapping' });
      return {};
    }
    for (const key of Object.keys(value)) {
      const field = path ? `${path}.${key}` : key;
      if (UNSUPPORTED[key]) this.details.push({ field, message: UNSUPPORTED[key] });
      else if (IGNORED.has(key)) this.ignored.push(field);
      else if (!this.known[path]?.includes(key)) this.details.push({ field, message: 'is not a DeepFabric setting Quarry knows' });
    }
    return value as Obj;
  }
}

const LLM_KEYS = ['provider', 'model', 'temperature', 'max_tokens'] as const;
const llmOf = (...sections: Obj[]) => {
  const out: Obj = {};
  for (const s of sections) for (const k of LLM_KEYS) if (s?.[k] !== undefined) out[k] = s[k];
  return Object.keys(out).length ? out : undefined;
};

function v4(doc: Obj, r: Reader): PipelineSpec {
  const llm = r.section(doc.llm, 'llm');
  const topics = r.section(doc.topics, 'topics');
  const generation = r.section(doc.generation, 'generation');
  const conversation = r.section(generation.conversation, 'generation.conversation');
  const output = r.section(doc.output, 'output');
  if (!topics.prompt) r.details.push({ field: 'topics.prompt', message: 'is required' });
  const style = conversation.reasoning_style === 'agent' ? undefined : conversation.reasoning_style;
  if (conversation.reasoning_style === 'agent') r.details.push({ field: 'generation.conversation.reasoning_style', message: 'agent reasoning (tool use) is not supported yet' });
  return {
    topics: {
      prompt: topics.prompt,
      mode: topics.mode ?? 'graph',
      degree: topics.degree,
      depth: topics.depth,
      system_prompt: topics.system_prompt,
      prompt_style: (topics.mode ?? 'graph') === 'graph' ? topics.prompt_style : undefined,
      llm: llmOf(llm, { max_tokens: topics.max_tokens }, r.section(topics.llm, 'topics.llm')),
    },
    generate: {
      task: 'conversation',
      conversation: conversation.type ? { type: conversation.type, ...(style ? { reasoning_style: style } : {}) } : undefined,
      system_prompt: generation.system_prompt,
      instructions: generation.instructions,
      num_samples: output.num_samples,
      batch_size: output.batch_size,
      include_system_message: output.include_system_message,
      max_attempts: generation.max_retries !== undefined ? Math.min(10, generation.max_retries + 1) : undefined,
      llm: llmOf(llm, { max_tokens: generation.max_tokens }, r.section(generation.llm, 'generation.llm')),
    },
    ...(output.system_prompt ? { export: { format: 'chatml', system_prompt: output.system_prompt } } : {}),
  } as PipelineSpec;
}

function v3(doc: Obj, r: Reader): PipelineSpec {
  if (doc.topic_tree && doc.topic_graph) r.details.push({ field: 'topic_graph', message: 'give topic_tree or topic_graph, not both' });
  const mode = doc.topic_graph ? 'graph' : 'tree';
  const topic = r.section(doc.topic_graph ?? doc.topic_tree, mode === 'graph' ? 'topic_graph' : 'topic_tree');
  const engine = r.section(doc.data_engine, 'data_engine');
  const dataset = r.section(doc.dataset, 'dataset');
  const creation = r.section(dataset.creation, 'dataset.creation');
  if (!topic.topic_prompt) r.details.push({ field: `${mode === 'graph' ? 'topic_graph' : 'topic_tree'}.topic_prompt`, message: 'is required' });
  const style = engine.reasoning_style === 'agent' ? undefined : engine.reasoning_style === 'structured' ? 'structured' : engine.reasoning_style;
  if (engine.reasoning_style === 'agent') r.details.push({ field: 'data_engine.reasoning_style', message: 'agent reasoning (tool use) is not supported yet' });
  if (dataset.formatters !== undefined) r.details.push({ field: 'dataset.formatters', message: 'use export formats instead (chatml, alpaca, sharegpt, messages)' });
  const steps = creation.num_steps;
  const batch = creation.batch_size;
  return {
    topics: {
      prompt: topic.topic_prompt,
      mode,
      degree: topic.degree,
      depth: topic.depth,
      system_prompt: topic.topic_system_prompt,
      llm: llmOf(topic),
    },
    generate: {
      task: 'conversation',
      conversation: engine.conversation_type ? { type: engine.conversation_type === 'chain_of_thought' ? 'cot' : 'basic', ...(style ? { reasoning_style: style } : {}) } : undefined,
      system_prompt: engine.generation_system_prompt ?? doc.dataset_system_prompt,
      instructions: engine.instructions,
      num_samples: steps !== undefined ? steps * (batch ?? 1) : undefined,
      batch_size: batch,
      include_system_message: creation.sys_msg,
      max_attempts: engine.max_retries !== undefined ? Math.min(10, engine.max_retries + 1) : undefined,
      llm: llmOf(engine, { provider: creation.provider, model: creation.model }),
    },
    ...(doc.dataset_system_prompt ? { export: { format: 'chatml', system_prompt: doc.dataset_system_prompt } } : {}),
  } as PipelineSpec;
}

const V3_KNOWN = {
  '': ['dataset_system_prompt', 'topic_tree', 'topic_graph', 'data_engine', 'dataset'],
  topic_tree: ['topic_prompt', 'topic_system_prompt', 'provider', 'model', 'temperature', 'degree', 'depth'],
  topic_graph: ['topic_prompt', 'topic_system_prompt', 'provider', 'model', 'temperature', 'degree', 'depth'],
  data_engine: ['generation_system_prompt', 'instructions', 'provider', 'model', 'temperature', 'max_tokens', 'max_retries', 'conversation_type', 'reasoning_style'],
  dataset: ['creation', 'formatters'],
  'dataset.creation': ['num_steps', 'batch_size', 'sys_msg', 'provider', 'model'],
} as const;
const V4_KNOWN = {
  '': ['llm', 'topics', 'generation', 'output'],
  llm: ['provider', 'model', 'temperature'],
  topics: ['prompt', 'mode', 'system_prompt', 'depth', 'degree', 'max_tokens', 'prompt_style', 'llm'],
  'topics.llm': ['provider', 'model', 'temperature'],
  generation: ['system_prompt', 'instructions', 'conversation', 'max_retries', 'max_tokens', 'llm'],
  'generation.conversation': ['type', 'reasoning_style'],
  'generation.llm': ['provider', 'model', 'temperature'],
  output: ['system_prompt', 'include_system_message', 'num_samples', 'batch_size'],
} as const;

/**
 * Translates a DeepFabric config (v3 `topic_tree|topic_graph / data_engine / dataset`, or v4
 * `llm / topics / generation / output`) and the `deepfabric generate` overrides into a
 * topics → generate (→ export) pipeline. Every setting is either mapped, listed as ignored, or a
 * 400 naming it.
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
  const spec = isV4 ? v4(d, reader) : v3(d, reader);
  if (reader.details.length) throw new AppError('validation_failed', reader.details.map((x) => `${x.field}: ${x.message}`).join('; '), reader.details);
  applyOverrides(spec, overrides);
  return { spec: prune(spec) as PipelineSpec, layout: isV4 ? 'v4' : 'v3', ignored: reader.ignored };
}

function applyOverrides(spec: PipelineSpec, o: DeepFabricOverrides) {
  const t = spec.topics!;
  const g = spec.generate!;
  if (o.num_samples !== undefined && o.num_steps !== undefined) {
    throw new AppError('validation_failed', 'num_samples and num_steps both set the sample count', [{ field: 'num_steps', message: 'give num_samples or num_steps, not both' }]);
  }
  for (const stage of [t, g]) {
    if (o.provider !== undefined || o.model !== undefined || o.temperature !== undefined) {
      stage.llm = { ...stage.llm, ...(o.provider !== undefined ? { provider: o.provider } : {}), ...(o.model !== undefined ? { model: o.model } : {}), ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) };
    }
  }
  if (o.mode !== undefined) t.mode = o.mode;
  if (t.mode === 'tree') delete t.prompt_style;
  if (o.degree !== undefined) t.degree = o.degree;
  if (o.depth !== undefined) t.depth = o.depth;
  if (o.sys_msg !== undefined) g.include_system_message = o.sys_msg;
  if (o.num_samples !== undefined && o.num_samples.endsWith('%')) samplePercent(o.num_samples);
  if (o.num_samples !== undefined) g.num_samples = /^\d+$/.test(o.num_samples) ? Number(o.num_samples) : (o.num_samples as never);
  if (o.num_steps !== undefined) g.num_samples = o.num_steps * (o.batch_size ?? g.batch_size ?? 1);
  if (o.batch_size !== undefined) g.batch_size = o.batch_size;
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
