// Anthropic messages wire format: forced tool calls carry the structured answer.
import { collectPrompt, estimateTokens } from './prompt-text.js';
import { brokenJson, textAnswer, valueFromSchema, violateSchema, type ValueContext } from './schema-value.js';
import { REFUSAL, type ReplyInput, type WireProvider } from './types.js';

type Block = { type: 'text'; text: string; citations: null } | { type: 'tool_use'; id: string; name: string; input: unknown };

export const anthropicWire: WireProvider = {
  validate(body) {
    if (typeof body.model !== 'string') return 'model: Field required';
    if (!Array.isArray(body.messages)) return 'messages: Field required';
    if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
    if (body.stream) return 'stream: true is not supported by the fake LLM server';
    const choice = body.tool_choice;
    if (choice?.type === 'tool' && !forcedTool(body)) return `tool_choice: tool "${choice.name}" is not in tools`;
    return undefined;
  },

  prompt: (body) => collectPrompt(body.messages, body.system),

  error: (type, message) => ({ type: 'error', error: { type, message } }),

  reply({ body, prompt, fault, seed, label, id }: ReplyInput) {
    const ctx: ValueContext = { source: prompt.source, all: prompt.all, seed, label, overfill: fault === 'overfill' };
    const tool = forcedTool(body);
    const text = (t: string): Block => ({ type: 'text', text: t, citations: null });
    let content: Block[];
    let stop: string;

    if (fault === 'refusal') {
      [content, stop] = [[text(REFUSAL)], 'refusal'];
    } else if (tool) {
      const schema = tool.input_schema;
      const use = (input: unknown): Block => ({ type: 'tool_use', id: `toolu_${id}`, name: tool.name, input });
      if (fault === 'malformed') {
        // Tool input arrives already parsed, so broken JSON can only show up as text.
        [content, stop] = [[text(brokenJson(JSON.stringify(valueFromSchema(schema, ctx))))], 'end_turn'];
      } else if (fault === 'truncate') {
        [content, stop] = [[use({})], 'max_tokens'];
      } else {
        [content, stop] = [[use(fault === 'schema' ? violateSchema(schema) : valueFromSchema(schema, ctx))], 'tool_use'];
      }
    } else {
      const answer = textAnswer(ctx);
      if (fault === 'malformed') [content, stop] = [[text(brokenJson(JSON.stringify({ answer })))], 'end_turn'];
      else if (fault === 'schema') [content, stop] = [[text('{}')], 'end_turn'];
      else if (fault === 'truncate') [content, stop] = [[text(answer.slice(0, Math.max(1, Math.floor(answer.length / 2))))], 'max_tokens'];
      else [content, stop] = [[text(answer)], 'end_turn'];
    }

    const produced = content.map((b) => (b.type === 'text' ? b.text : JSON.stringify(b.input))).join('');
    return {
      id: `msg_${id}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: {
        input_tokens: estimateTokens(prompt.chars),
        output_tokens: estimateTokens(produced.length),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    };
  },
};

/** The tool the caller forces: `{type:'tool', name}`, or the first tool for `{type:'any'}`. */
function forcedTool(body: Record<string, any>): { name: string; input_schema: unknown } | undefined {
  const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
  const choice = body.tool_choice;
  if (choice?.type === 'tool') return tools.find((t) => t?.name === choice.name);
  if (choice?.type === 'any') return tools[0];
  return undefined;
}
