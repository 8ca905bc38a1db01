import { LIMITS } from '../limits.js';
import { conversationOf, llmOf, type Obj, Reader } from './deepfabric-reader.js';
import { type ToolsPart, v3Tools, v4Tools } from './deepfabric-tools.js';

/**
 * A DeepFabric config as a topics → generate pipeline spec (checked against PipelineSpec after the
 * overrides). The generate stage keeps the two system prompts apart: `system_prompt` steers the
 * teacher, `dataset_system_prompt` is what the records carry (never the teacher's instruction).
 */
export interface Translated {
  topics: Obj;
  generate: Obj;
  /** The config's tools, when it has any: the pipeline's tools stage then makes the records. */
  tools?: ToolsPart;
}

/** Where the dataset system prompt and the sys_msg switch came from, for notes and overrides. */
export interface SystemMessage {
  prompt?: string;
  include: boolean;
  promptPath: string;
  fallbackPath: string;
}

// The settings of DeepFabric 4.12's schema (config.py) that Quarry maps; the ignored and refused
// ones are in deepfabric-reader.ts.
export const V4_KNOWN = {
  '': ['llm', 'topics', 'generation', 'output'],
  llm: ['provider', 'model', 'temperature'],
  topics: ['prompt', 'mode', 'system_prompt', 'depth', 'degree', 'max_tokens', 'prompt_style', 'llm'],
  'topics.llm': ['provider', 'model', 'temperature'],
  generation: ['system_prompt', 'instructions', 'conversation', 'tools', 'scenario_seed', 'max_retries', 'max_tokens', 'llm'],
  'generation.tools': ['spin_endpoint', 'components', 'tools_endpoint', 'tool_execute_path', 'custom', 'max_per_query', 'strict', 'scenario_seed', 'max_agent_steps'],
  'generation.tools.scenario_seed': ['files'],
  'generation.scenario_seed': ['files'],
  'generation.conversation': ['type', 'reasoning_style'],
  'generation.llm': ['provider', 'model', 'temperature'],
  output: ['system_prompt', 'include_system_message', 'num_samples', 'batch_size'],
} as const;

// DeepFabric 3.13 (and the v2 examples written in the same layout).
export const V3_KNOWN = {
  '': ['dataset_system_prompt', 'topic_tree', 'topic_graph', 'data_engine', 'dataset'],
  topic_tree: ['topic_prompt', 'topic_system_prompt', 'provider', 'model', 'temperature', 'degree', 'depth'],
  topic_graph: ['topic_prompt', 'topic_system_prompt', 'provider', 'model', 'temperature', 'degree', 'depth'],
  data_engine: [
    'generation_system_prompt', 'instructions', 'provider', 'model', 'temperature', 'max_tokens', 'max_retries', 'conversation_type', 'reasoning_style',
    'agent_mode', 'tool_registry_path', 'available_tools', 'custom_tools', 'max_tools_per_query', 'max_tools_strict',
  ],
  dataset: ['creation'],
  'dataset.creation': ['num_steps', 'batch_size', 'sys_msg', 'provider', 'model'],
} as const;

// DeepFabric's defaults where Quarry's differ (constants.py): a config that leaves them out sizes
// its run as DeepFabric would. v3 graphs default to degree 3, depth 2.
const DEFAULTS = { degree: 10, depth: 3, numSamples: 3, batchSize: 5, graphV3: { degree: 3, depth: 2 } };

const attempts = (r: Reader, path: string, retries: unknown) =>
  typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 ? r.from('generate.max_attempts', path, Math.min(10, retries + 1)) : r.from('generate.max_attempts', path, retries as number | undefined);

export function v4(doc: Obj, r: Reader, toolsId?: string): Translated & { system: SystemMessage } {
  const llm = r.section(doc.llm, 'llm');
  const topics = r.section(doc.topics, 'topics');
  const topicsLlm = r.section(topics.llm, 'topics.llm');
  const generation = r.section(doc.generation, 'generation');
  const conversation = r.section(generation.conversation, 'generation.conversation');
  const generationLlm = r.section(generation.llm, 'generation.llm');
  const output = r.section(doc.output, 'output');
  if (!topics.prompt) r.refuse('topics.prompt', 'is required');
  const mode = r.oneOf('topics.mode', 'topics.mode', topics.mode, ['tree', 'graph'] as const) ?? 'graph';
  const style = r.oneOf('topics.prompt_style', 'topics.prompt_style', topics.prompt_style, ['default', 'isolated', 'anchored'] as const);
  const tools = v4Tools(r, generation, toolsId);
  return {
    tools,
    topics: {
      prompt: r.from('topics.prompt', 'topics.prompt', topics.prompt),
      mode,
      degree: r.from('topics.degree', 'topics.degree', topics.degree) ?? DEFAULTS.degree,
      depth: r.from('topics.depth', 'topics.depth', topics.depth) ?? DEFAULTS.depth,
      system_prompt: r.text('topics.system_prompt', 'topics.system_prompt', topics.system_prompt),
      prompt_style: mode === 'graph' ? style : undefined,
      llm: llmOf(r, 'topics', [[llm, 'llm'], [topics, 'topics'], [topicsLlm, 'topics.llm']]),
    },
    generate: {
      task: 'conversation',
      conversation: conversationOf(r, { value: conversation.type, path: 'generation.conversation.type' }, { value: conversation.reasoning_style, path: 'generation.conversation.reasoning_style' }, tools !== undefined),
      system_prompt: r.text('generate.system_prompt', 'generation.system_prompt', generation.system_prompt),
      instructions: r.text('generate.instructions', 'generation.instructions', generation.instructions),
      num_samples: r.sampleCount('output.num_samples', output.num_samples) ?? DEFAULTS.numSamples,
      batch_size: r.count('generate.batch_size', 'output.batch_size', output.batch_size, 1024) ?? DEFAULTS.batchSize,
      max_attempts: attempts(r, 'generation.max_retries', generation.max_retries),
      llm: llmOf(r, 'generate', [[llm, 'llm'], [generation, 'generation'], [generationLlm, 'generation.llm']]),
    },
    system: {
      prompt: r.text('generate.dataset_system_prompt', 'output.system_prompt', output.system_prompt),
      include: r.flag('output.include_system_message', output.include_system_message) ?? true,
      promptPath: 'output.system_prompt',
      fallbackPath: 'generation.system_prompt',
    },
  };
}

export function v3(doc: Obj, r: Reader, toolsId?: string): Translated & { system: SystemMessage } {
  if (doc.topic_tree && doc.topic_graph) r.refuse('topic_graph', 'give topic_tree or topic_graph, not both');
  const mode = doc.topic_graph ? 'graph' : 'tree';
  const at = mode === 'graph' ? 'topic_graph' : 'topic_tree';
  const topic = r.section(doc.topic_graph ?? doc.topic_tree, at);
  const engine = r.section(doc.data_engine, 'data_engine');
  const dataset = r.section(doc.dataset, 'dataset');
  const creation = r.section(dataset.creation, 'dataset.creation');
  if (!topic.topic_prompt) r.refuse(`${at}.topic_prompt`, 'is required');
  r.from('topics.mode', at, mode);
  const sizes = mode === 'graph' ? DEFAULTS.graphV3 : DEFAULTS;
  const steps = r.count('generate.num_samples', 'dataset.creation.num_steps', creation.num_steps, LIMITS.numSamples) ?? DEFAULTS.numSamples;
  const batch = r.count('generate.batch_size', 'dataset.creation.batch_size', creation.batch_size, 1024) ?? DEFAULTS.batchSize;
  const tools = v3Tools(r, engine, toolsId);
  return {
    tools,
    topics: {
      prompt: r.from('topics.prompt', `${at}.topic_prompt`, topic.topic_prompt),
      mode,
      degree: r.from('topics.degree', `${at}.degree`, topic.degree) ?? sizes.degree,
      depth: r.from('topics.depth', `${at}.depth`, topic.depth) ?? sizes.depth,
      system_prompt: r.text('topics.system_prompt', `${at}.topic_system_prompt`, topic.topic_system_prompt),
      llm: llmOf(r, 'topics', [[topic, at]]),
    },
    generate: {
      task: 'conversation',
      conversation: conversationOf(r, { value: engine.conversation_type, path: 'data_engine.conversation_type' }, { value: engine.reasoning_style, path: 'data_engine.reasoning_style' }, tools !== undefined),
      system_prompt: r.text('generate.system_prompt', 'data_engine.generation_system_prompt', engine.generation_system_prompt),
      instructions: r.text('generate.instructions', 'data_engine.instructions', engine.instructions),
      // v3 makes num_steps rounds of batch_size samples; more samples than topics cycle over them, as in v4.
      num_samples: steps * batch <= LIMITS.numSamples ? steps * batch : void r.refuse('dataset.creation.num_steps', `num_steps × batch_size is ${(steps * batch).toLocaleString('en-US')} samples; at most ${LIMITS.numSamples.toLocaleString('en-US')}`),
      batch_size: batch,
      max_attempts: attempts(r, 'data_engine.max_retries', engine.max_retries),
      llm: llmOf(r, 'generate', [[engine, 'data_engine'], [creation, 'dataset.creation']]),
    },
    system: {
      prompt: r.text('generate.dataset_system_prompt', 'dataset_system_prompt', doc.dataset_system_prompt),
      include: r.flag('dataset.creation.sys_msg', creation.sys_msg) ?? true,
      promptPath: 'dataset_system_prompt',
      fallbackPath: 'data_engine.generation_system_prompt',
    },
  };
}
