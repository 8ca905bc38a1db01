import type { ToolCall, ToolDefinition } from '../records/record-shapes.js';
import type { ChatMessage } from '../records/to-messages.js';

/**
 * The function-calling formats: OpenAI fine-tuning, HF TRL / axolotl and APIGen's xLAM. Each reads
 * the chat messages of a record the function-calling contract has passed (render-contract.ts), so
 * every role is one of system/user/assistant/tool, every tool result answers an earlier call and
 * every call's arguments are a JSON object.
 */
type Rec = Record<string, unknown>;

const isObject = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** DeepFabric's `tools_strategy`: every schema the example was offered, or only those it calls. */
export const TOOLS_STRATEGIES = ['all', 'used_only'] as const;
export type ToolsStrategy = (typeof TOOLS_STRATEGIES)[number];

const callsOf = (messages: ChatMessage[]): ToolCall[] => messages.flatMap((m) => (m.role === 'assistant' && m.tool_calls ? m.tool_calls : []));

/** The tools an export lists: `used_only` drops the schemas of functions no call names. */
export function offeredTools(tools: ToolDefinition[] | undefined, messages: ChatMessage[], strategy: ToolsStrategy): ToolDefinition[] | undefined {
  if (!tools || strategy === 'all') return tools;
  const called = new Set(callsOf(messages).map((c) => c.function.name));
  const used = tools.filter((t) => called.has(t.function.name));
  return used.length ? used : undefined;
}

/** A call's arguments as an object, or undefined when its JSON text is not one. */
export function argumentsObject(call: ToolCall): Rec | undefined {
  try {
    const args: unknown = JSON.parse(call.function.arguments);
    return isObject(args) ? args : undefined;
  } catch {
    return undefined;
  }
}

const hasText = (m: ChatMessage) => typeof m.content === 'string' && m.content !== '';

/**
 * OpenAI's fine-tuning line: only the keys its `FineTuneChatRequestInput` knows. An assistant turn
 * that only calls tools has no `content` key (the shape of OpenAI's and Azure's tool-calling
 * examples); `weight` (0 or 1) stays on assistant turns; `name` is dropped from tool turns, which
 * OpenAI keys by `tool_call_id`.
 */
export function openaiLine(messages: ChatMessage[], tools: ToolDefinition[] | undefined): Rec {
  const out = messages.map((m): Rec => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content ?? '' };
    if (m.role !== 'assistant') return { role: m.role, content: m.content ?? '' };
    const calls = m.tool_calls ?? [];
    const weight = m.weight === 0 || m.weight === 1 ? { weight: m.weight } : {};
    if (!calls.length) return { role: 'assistant', content: m.content ?? '', ...weight };
    return {
      role: 'assistant',
      ...(hasText(m) ? { content: m.content } : {}),
      tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } })),
      ...weight,
    };
  });
  const parallel = messages.some((m) => (m.tool_calls?.length ?? 0) > 1);
  return { messages: out, ...(tools ? { tools } : {}), ...(parallel ? { parallel_tool_calls: true } : {}) };
}

/**
 * TRL's (and axolotl's) conversational line: `arguments` as an object, the tool turn carries the
 * `name` of the function it answers and no `tool_call_id`, `tools` a column of OpenAI-style
 * definitions (huggingface/trl docs/source/dataset_formats.md, "Tool calling").
 */
export function trlLine(messages: ChatMessage[], tools: ToolDefinition[] | undefined): Rec {
  const names = new Map(callsOf(messages).map((c) => [c.id, c.function.name]));
  const out = messages.map((m): Rec => {
    if (m.role === 'tool') return { role: 'tool', name: names.get(m.tool_call_id ?? '') ?? m.name, content: m.content ?? '' };
    const calls = m.role === 'assistant' ? (m.tool_calls ?? []) : [];
    if (!calls.length) return { role: m.role, content: m.content ?? '' };
    return {
      role: 'assistant',
      ...(hasText(m) ? { content: m.content } : {}),
      tool_calls: calls.map((c) => ({ type: 'function', function: { name: c.function.name, arguments: argumentsObject(c) ?? {} } })),
    };
  });
  return tools ? { messages: out, tools } : { messages: out };
}

/** A JSON Schema type as xLAM writes parameter types (Python's names: `str`, `int`, `List[int]`). */
function xlamType(schema: unknown): string {
  const s = isObject(schema) ? schema : {};
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return 'str';
    case 'integer':
      return 'int';
    case 'number':
      return 'float';
    case 'boolean':
      return 'bool';
    case 'array':
      return s.items ? `List[${xlamType(s.items)}]` : 'List';
    case 'object':
      return 'dict';
    default:
      return 'Any';
  }
}

/** A tool as xLAM lists it: `parameters` maps each argument to its description, type (`, optional` when not required) and default. */
export function xlamTool(tool: ToolDefinition) {
  const schema: Rec = tool.function.parameters ?? {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const parameters = Object.fromEntries(
    Object.entries(properties).map(([name, p]) => {
      const prop = isObject(p) ? p : {};
      const type = `${xlamType(prop)}${required.has(name) ? '' : ', optional'}`;
      return [name, { description: typeof prop.description === 'string' ? prop.description : '', type, ...(prop.default !== undefined ? { default: prop.default } : {}) }];
    }),
  );
  return { name: tool.function.name, description: tool.function.description ?? '', parameters };
}

/**
 * APIGen's xLAM line (Salesforce/xlam-function-calling-60k): the user's query, the tools and the
 * answers, both JSON text; the answers are every call of every step, in order, arguments as objects.
 */
export function xlamLine(messages: ChatMessage[], tools: ToolDefinition[]): Rec {
  const query = messages.find((m) => m.role === 'user')?.content ?? '';
  const answers = callsOf(messages).map((c) => ({ name: c.function.name, arguments: argumentsObject(c) ?? {} }));
  return { query, tools: JSON.stringify(tools.map(xlamTool)), answers: JSON.stringify(answers) };
}
