import type { ErrorDetail } from '../../src/errors.js';
import { LIMITS } from '../limits.js';

export type Obj = Record<string, any>;

const UPLOADS = 'uploads are not done here: push the downloaded export (links.export) yourself';
const TIMEOUTS = 'retries, backoff and timeouts are the provider’s (PROVIDERS_FILE max_retries, timeout_ms); Retry-After is honoured';

/**
 * Settings that mean nothing to a service (local files, uploads, evaluation, retry tuning):
 * accepted, listed in the report's `ignored`, with the reason in its `notes`.
 */
const IGNORED: Record<string, string> = {
  save_as: 'files are datasets here: download the records with links.export and the topics with links.topics',
  max_concurrent: 'concurrency is the provider’s max_concurrency, the worker’s WORKER_CONCURRENCY and batch_size',
  checkpoint: 'runs are durable: every record is stored as it is made, and POST /v1/runs/{id}/retry re-runs the failed tasks',
  sample_retries: 'an answer that fails validation is always retried with the error fed back; max_retries sets the attempts',
  rate_limit: TIMEOUTS,
  request_timeout: TIMEOUTS,
  timeout: TIMEOUTS,
  huggingface: UPLOADS,
  kaggle: UPLOADS,
  deepfabric_cloud: UPLOADS,
  evaluation: 'model evaluation (deepfabric evaluate) is not part of dataset generation',
};

const TOOLS = 'this v2 tool-calling type is not supported: use the v4 layout (generation.tools) or v3 (tool_registry_path with ?tools_id=)';
/** Agent reasoning without tools to call. */
export const NO_TOOLS = 'agent reasoning calls tools: configure generation.tools (builtin VFS tools run as they are; others with ?tools_id=), or use freetext or structured';
/** Settings Quarry refuses, naming them: what to do instead. */
const UNSUPPORTED: Record<string, string> = {
  base_url: 'name a provider instead: configure the server as one (PROVIDERS_FILE, or a *_BASE_URL variable) and give its name in provider',
  formatters: 'use the export formats instead (GET /v1/datasets/{id}/export?format=chatml, messages, alpaca or sharegpt)',
};

/**
 * Reads a DeepFabric config section by section. Every key is known (mapped), ignored (listed with a
 * note) or refused (a 400 naming it); `origins` remembers which YAML setting each field of the
 * translated spec came from, so later checks name the setting the user wrote.
 */
export class Reader {
  details: ErrorDetail[] = [];
  ignored: string[] = [];
  notes: Record<string, string> = {};
  /** Translated spec path (`generate.num_samples`) → the YAML path or query parameter it came from. */
  origins: Record<string, string> = {};
  constructor(private readonly known: Record<string, readonly string[]>) {}

  /** The section at `path`, checking its keys. */
  section(value: unknown, path: string): Obj {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.refuse(path, 'must be a mapping');
      return {};
    }
    for (const key of Object.keys(value)) {
      const field = path ? `${path}.${key}` : key;
      if (UNSUPPORTED[key]) this.refuse(field, UNSUPPORTED[key]);
      else if (IGNORED[key]) this.ignore(field, IGNORED[key]);
      else if (!this.known[path]?.includes(key)) this.refuse(field, 'is not a DeepFabric setting (DeepFabric would skip it silently; Quarry refuses it so a typo is not lost)');
    }
    return value as Obj;
  }

  refuse(field: string, message: string) {
    this.details.push({ field, message });
  }

  ignore(field: string, note: string) {
    this.ignored.push(field);
    this.notes[field] = note;
  }

  /** `value` as the spec's `specPath`, remembered as coming from `yamlPath`. */
  from<T>(specPath: string, yamlPath: string, value: T): T {
    if (value !== undefined) this.origins[specPath] = yamlPath;
    return value;
  }

  /** A prompt: text, with an empty or blank one (DeepFabric's default `""`) read as not given. */
  text(specPath: string, yamlPath: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.refuse(yamlPath, 'must be text');
      return undefined;
    }
    return value.trim() === '' ? undefined : this.from(specPath, yamlPath, value);
  }

  /** A value that must be one of `allowed`. */
  oneOf<T extends string>(specPath: string, yamlPath: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (value === undefined || value === null) return undefined;
    if (!allowed.includes(value as T)) {
      this.refuse(yamlPath, `must be one of ${allowed.join(', ')}`);
      return undefined;
    }
    return this.from(specPath, yamlPath, value as T);
  }

  /** A yes/no setting (`sys_msg`, `include_system_message`). */
  flag(yamlPath: string, value: unknown): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.refuse(yamlPath, 'must be true or false');
      return undefined;
    }
    return value;
  }

  /** `num_samples`: an integer, "auto" or "N%" (DeepFabric's parse_num_samples). */
  sampleCount(yamlPath: string, value: unknown): number | string | undefined {
    if (value === undefined || value === null) return undefined;
    const count = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof count === 'number') return this.count('generate.num_samples', yamlPath, count, LIMITS.numSamples);
    if (count === 'auto' || (typeof count === 'string' && /^\d+(\.\d+)?%$/.test(count))) return this.from('generate.num_samples', yamlPath, count);
    this.refuse(yamlPath, 'must be an integer, "auto" or a percentage like "50%"');
    return undefined;
  }

  /** A whole number from 1 to `max`. */
  count(specPath: string, yamlPath: string, value: unknown, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      this.refuse(yamlPath, `must be a whole number from 1 to ${max.toLocaleString('en-US')}`);
      return undefined;
    }
    return this.from(specPath, yamlPath, value);
  }
}

const LLM_KEYS = ['provider', 'model', 'temperature', 'max_tokens'] as const;

/**
 * A stage's `llm` from DeepFabric's sections, later ones winning (shared `llm`, then the section's
 * own): each field remembers the setting it came from.
 */
export function llmOf(r: Reader, stage: 'topics' | 'generate', sources: Array<[section: Obj, path: string]>) {
  const out: Obj = {};
  for (const [section, path] of sources) {
    for (const k of LLM_KEYS) if (section[k] !== undefined && section[k] !== null) out[k] = r.from(`${stage}.llm.${k}`, `${path}.${k}`, section[k]);
  }
  return Object.keys(out).length ? out : undefined;
}

type Conversation = { type: 'basic' | 'cot'; reasoning_style?: 'freetext' | 'structured' };

/** DeepFabric's conversation types across versions (v4 `type`, v3 `conversation_type`, v2's combined names). */
const TYPES: Record<string, Conversation | string> = {
  basic: { type: 'basic' },
  cot: { type: 'cot' },
  chain_of_thought: { type: 'cot' },
  cot_freetext: { type: 'cot', reasoning_style: 'freetext' },
  cot_structured: { type: 'cot', reasoning_style: 'structured' },
  cot_hybrid: 'hybrid reasoning (free text and steps in one sample) is not supported: use cot_freetext or cot_structured',
  structured: 'not a conversation type Quarry writes: use basic, or cot with reasoning_style freetext or structured',
  tool_calling: TOOLS,
  agent_cot_tools: TOOLS,
  agent_cot_hybrid: TOOLS,
  agent_cot_multi_turn: TOOLS,
  xlam_multi_turn: TOOLS,
};
/** v2's reasoning_style named the problem domain, not the form of the reasoning. */
const DOMAIN_HINTS = ['mathematical', 'logical', 'general'];

/**
 * The conversation settings as Quarry's `conversation`, or refusals naming the setting. Styles:
 * freetext and structured run (DeepFabric 4 reads `structured` as `agent`; Quarry writes the steps
 * without tools, and says so); agent runs as the tools stage when the config has tools; hybrid is refused.
 */
export function conversationOf(r: Reader, type: { value: unknown; path: string }, style: { value: unknown; path: string }, hasTools = false): Conversation | undefined {
  if (type.value === undefined && style.value === undefined) return undefined;
  const known = TYPES[String(type.value ?? 'basic')];
  if (known === undefined) {
    r.refuse(type.path, `must be basic or cot (DeepFabric 3: basic, chain_of_thought; 2: cot_freetext, cot_structured)`);
    return undefined;
  }
  if (typeof known === 'string') {
    r.refuse(type.path, known);
    return undefined;
  }
  r.from('generate.conversation.type', type.path, type.value);
  const given = style.value;
  if (given === undefined || given === null) {
    if (known.type === 'cot' && !known.reasoning_style) r.notes[style.path] = 'not set: freetext (DeepFabric asks for it with type cot)';
    return known.type === 'cot' ? { type: 'cot', reasoning_style: known.reasoning_style ?? 'freetext' } : known;
  }
  if (typeof given === 'string' && DOMAIN_HINTS.includes(given)) {
    r.ignore(style.path, `"${given}" is a DeepFabric 2 domain hint, not a form of reasoning: steer the domain with instructions`);
    return known.type === 'cot' ? { type: 'cot', reasoning_style: known.reasoning_style ?? 'freetext' } : known;
  }
  if (given === 'agent') {
    if (!hasTools) return void r.refuse(style.path, NO_TOOLS);
    r.notes[style.path] = 'agent: the tools stage writes each step\'s thought with its tool calls, then the final answer';
    return undefined;
  }
  if (given === 'hybrid') return void r.refuse(style.path, 'hybrid reasoning is not supported (DeepFabric 4 reads it as agent): use freetext or structured');
  if (given !== 'freetext' && given !== 'structured') return void r.refuse(style.path, 'must be freetext or structured');
  if (known.type !== 'cot') return void r.refuse(style.path, 'only applies with conversation type cot');
  if (known.reasoning_style && known.reasoning_style !== given) return void r.refuse(style.path, `conflicts with the conversation type's ${known.reasoning_style} reasoning`);
  if (given === 'structured') r.notes[style.path] = 'structured: numbered steps { step_number, thought, action }, written without tools (DeepFabric 4 reads structured as agent)';
  r.from('generate.conversation.reasoning_style', style.path, given);
  return { type: 'cot', reasoning_style: given };
}
