import { isVfsTool, VFS_TOOL_NAMES, vfsToolFile } from '../tools/definitions/vfs-tools.js';
import type { Obj, Reader } from './deepfabric-reader.js';

/**
 * DeepFabric's tool settings as the pieces of a tools stage. The builtin component (Spin's VFS)
 * runs on Quarry's in-memory VFS; definitions that live in a Spin service (`components.mock` with
 * `tools_endpoint`, `custom`, v3's `tool_registry_path` file) are refused naming the setting unless
 * `?tools_id=` gives a Quarry tool set, which then provides every definition (played by the teacher).
 * Other components are Spin WASM modules Quarry cannot run: always refused, by name.
 */
export interface ToolsPart {
  tools?: unknown;
  tools_id?: string;
  execution?: { mode: 'vfs'; files?: Array<{ path: string; content: string }> };
  max_steps?: number;
  max_calls?: number;
}

const SPIN = 'the Spin service is not used: builtin tools run on Quarry\'s own in-memory VFS, and ?tools_id= gives the definitions of any others';
const VIA_TOOLS_ID = (what: string) => `${what}: the definitions live where Quarry cannot read them; store them with POST /v1/tools and run the config with ?tools_id=<id>`;
const WITH_TOOLS_ID = 'not used: ?tools_id= gives every tool\'s definition, and the teacher plays the tools (simulated execution)';

/** A whole number from 1 to `max`, read into spec field `field` (the tools stage's). */
function bounded(r: Reader, field: string, path: string, value: unknown, max: number): number | undefined {
  return r.count(`tools.${field}`, path, value, max);
}

/** v4 `generation.tools` (and `generation.scenario_seed`, where one config puts it). */
export function v4Tools(r: Reader, generation: Obj, toolsId: string | undefined): ToolsPart | undefined {
  const tools = r.section(generation.tools, 'generation.tools');
  if (generation.tools === undefined || generation.tools === null) {
    if (generation.scenario_seed !== undefined) r.ignore('generation.scenario_seed', 'seeds the VFS of the builtin file tools, and this config has no generation.tools');
    return undefined;
  }
  const part: ToolsPart = {};
  // Component names are the config's own (each a Spin module), so they are read here, not as known keys.
  const given = tools.components ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) r.refuse('generation.tools.components', 'must map component names to lists of tool names');
  const components: Obj = typeof given === 'object' && !Array.isArray(given) ? given : {};
  const builtin: string[] = [];
  let external = false;
  for (const [name, list] of Object.entries(components)) {
    const at = `generation.tools.components.${name}`;
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) {
      r.refuse(at, 'must be a list of tool names');
      continue;
    }
    if (name === 'builtin') {
      const unknown = list.filter((t) => !isVfsTool(t));
      if (unknown.length) r.refuse(at, `${unknown.join(', ')}: Quarry's VFS has ${VFS_TOOL_NAMES.join(', ')}`);
      builtin.push(...list);
    } else if (name === 'mock') {
      external = true;
      if (!toolsId) r.refuse(at, VIA_TOOLS_ID('tools of the Spin mock service'));
    } else {
      r.refuse(at, `the ${name} component is a Spin WASM module Quarry cannot run; only builtin (the VFS) runs here`);
    }
  }
  for (const key of ['tools_endpoint', 'tool_execute_path', 'custom'] as const) {
    if (tools[key] === undefined || tools[key] === null) continue;
    if (toolsId) r.ignore(`generation.tools.${key}`, WITH_TOOLS_ID);
    else if (key === 'custom') r.refuse('generation.tools.custom', 'DeepFabric\'s inline tool format is not read here: store the tools (Generator, OpenAI, MCP or OpenAPI format) with POST /v1/tools and run the config with ?tools_id=<id>');
    else r.refuse(`generation.tools.${key}`, VIA_TOOLS_ID('a Spin service route'));
  }
  if (!toolsId && !builtin.length && !external && !['tools_endpoint', 'custom'].some((k) => tools[k] !== undefined && tools[k] !== null)) {
    r.refuse('generation.tools.components', `name the tools: builtin: [${VFS_TOOL_NAMES.join(', ')}] run on Quarry's in-memory VFS; others need ?tools_id= (DeepFabric would load every tool the Spin service lists)`);
  }
  if (tools.spin_endpoint !== undefined) r.ignore('generation.tools.spin_endpoint', SPIN);
  if (tools.strict !== undefined) r.ignore('generation.tools.strict', 'no example is planned with more calls than max_per_query, so none is discarded or truncated');
  part.max_calls = bounded(r, 'max_calls', 'generation.tools.max_per_query', tools.max_per_query, 10);
  part.max_steps = bounded(r, 'max_steps', 'generation.tools.max_agent_steps', tools.max_agent_steps, 10) ?? 5;
  // DeepFabric reads scenario_seed under generation.tools only; one of its examples puts it under generation, where it would be skipped.
  const nested = tools.scenario_seed !== undefined && tools.scenario_seed !== null;
  const seedPath = nested ? 'generation.tools.scenario_seed' : 'generation.scenario_seed';
  const seed = r.section(nested ? tools.scenario_seed : generation.scenario_seed, seedPath);
  if (nested && generation.scenario_seed) r.ignore('generation.scenario_seed', 'DeepFabric reads scenario_seed under generation.tools, which this config also gives');
  if (!nested && generation.scenario_seed) r.notes[seedPath] = 'DeepFabric 4.12 reads scenario_seed under generation.tools and would skip this one; Quarry seeds each example\'s VFS from it';
  const files = seedFiles(r, `${seedPath}.files`, seed.files);
  if (toolsId) {
    part.tools_id = toolsId;
    if (builtin.length) r.notes['generation.tools.components.builtin'] = `${WITH_TOOLS_ID}; the tool set must define the builtin tools it should offer`;
    if (files) r.ignore(`${seedPath}.files`, WITH_TOOLS_ID);
  } else if (builtin.length) {
    part.tools = vfsToolFile(builtin);
    part.execution = { mode: 'vfs', ...(files ? { files } : {}) };
    if (files) r.from('tools.execution.files', `${seedPath}.files`, files);
    r.notes['generation.tools.components'] = `builtin: ${SPIN}; each example gets a file system of its own${files ? `, seeded with ${files.length} file(s)` : ''}`;
  }
  return part;
}

/** `scenario_seed.files`: path → text. */
function seedFiles(r: Reader, path: string, value: unknown): Array<{ path: string; content: string }> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    r.refuse(path, 'must map file paths to their text');
    return undefined;
  }
  return Object.entries(value).map(([k, v]) => ({ path: k, content: String(v) }));
}

/** v3 `data_engine` tool settings: the registry file is unreadable here, so the tools come from ?tools_id=. */
export function v3Tools(r: Reader, engine: Obj, toolsId: string | undefined): ToolsPart | undefined {
  const keys = ['agent_mode', 'tool_registry_path', 'available_tools', 'custom_tools', 'max_tools_per_query', 'max_tools_strict'] as const;
  if (!keys.some((k) => engine[k] !== undefined && engine[k] !== null) && engine.reasoning_style !== 'agent') return undefined;
  for (const key of ['tool_registry_path', 'available_tools', 'custom_tools'] as const) {
    if (engine[key] === undefined || engine[key] === null) continue;
    if (toolsId) r.ignore(`data_engine.${key}`, WITH_TOOLS_ID);
    else r.refuse(`data_engine.${key}`, VIA_TOOLS_ID(key === 'tool_registry_path' ? `the registry file ${JSON.stringify(engine[key])}` : `the ${key} definitions`));
  }
  if (!toolsId && !['tool_registry_path', 'available_tools', 'custom_tools'].some((k) => engine[k] !== undefined && engine[k] !== null)) {
    // No definitions at all: each tool setting given is named, as none can run.
    for (const key of ['agent_mode', 'max_tools_per_query', 'max_tools_strict'] as const) {
      if (engine[key] !== undefined && engine[key] !== null) r.refuse(`data_engine.${key}`, 'agent mode needs tools: a tool_registry_path (or available_tools) with ?tools_id= giving the definitions');
    }
    if (engine.reasoning_style === 'agent') r.refuse('data_engine.reasoning_style', 'agent reasoning calls tools: give tool_registry_path with ?tools_id=, or use freetext or structured');
  }
  const mode = engine.agent_mode;
  if (mode !== undefined && mode !== 'single_turn' && mode !== 'multi_turn') r.refuse('data_engine.agent_mode', 'must be single_turn or multi_turn');
  if (mode === 'multi_turn') r.notes['data_engine.agent_mode'] = 'multi_turn: DeepFabric 4 dropped multi-turn agents; Quarry writes one request solved in up to 5 steps of tool calls';
  if (engine.max_tools_strict !== undefined) r.ignore('data_engine.max_tools_strict', 'no example is planned with more calls than max_tools_per_query, so none is discarded or truncated');
  return { ...(toolsId ? { tools_id: toolsId } : {}), max_calls: bounded(r, 'max_calls', 'data_engine.max_tools_per_query', engine.max_tools_per_query, 10) };
}

/** Where a generate field of the translation goes in the tools stage. */
const MOVED: Record<string, string> = {
  'generate.num_samples': 'tools.target_examples',
  'generate.system_prompt': 'tools.instructions',
  'generate.instructions': 'tools.instructions',
  'generate.dataset_system_prompt': 'tools.dataset_system_prompt',
  'generate.max_attempts': 'tools.max_attempts',
};

/**
 * A config with tools as a topics → tools pipeline exported as OpenAI messages with tools (the
 * records DeepFabric writes): the generate settings move to the tools stage, the teacher's prompt
 * and instructions become its guidance, and the records carry the output system prompt or none.
 */
export function toolsPipeline(spec: { topics: Obj; generate: Obj; tools: ToolsPart }, r: Reader): Obj {
  const g = spec.generate;
  for (const [from, yaml] of Object.entries(r.origins)) {
    const to = MOVED[from] ?? (from.startsWith('generate.llm.') ? `tools.${from.slice('generate.'.length)}` : undefined);
    if (to) r.origins[to] = yaml;
  }
  const samplesAt = r.origins['generate.num_samples'] ?? 'output.num_samples';
  if (typeof g.num_samples !== 'number') r.refuse(samplesAt, 'a config with tools makes a set number of examples: give a whole number');
  else r.notes[samplesAt] = `${g.num_samples} examples are planned; each is verified (arguments, execution, a judge), and one that fails is made afresh up to twice, so fewer may be kept`;
  if (g.batch_size !== undefined) r.ignore(r.origins['generate.batch_size'] ?? 'output.batch_size', 'the tools stage runs its examples as the provider\'s max_concurrency allows');
  const guidance = [g.system_prompt, g.instructions].filter((t) => typeof t === 'string' && t.trim()).join('\n\n');
  return {
    topics: spec.topics,
    tools: {
      ...spec.tools,
      target_examples: typeof g.num_samples === 'number' ? g.num_samples : undefined,
      min_per_tool: 1,
      instructions: guidance || undefined,
      dataset_system_prompt: g.include_system_message ? (g.dataset_system_prompt ?? '') : '',
      llm: g.llm,
      max_attempts: g.max_attempts,
    },
    export: { format: 'openai' },
  };
}
