// Anthropic messages wire format: tool_use blocks carry tool calls and, when forced, the structured answer.
import { collectPrompt, estimateTokens } from './prompt-text.js';
import { brokenJson, misalign, textAnswer, type ValueContext } from './schema-value.js';
import { pickTools, toolArguments, type Choice, type OfferedTool } from './tools.js';
import { REFUSAL, type ReplyInput, type WireProvider } from './types.js';

type Block = { type: 'text'; text: string; citations: null } | { type: 'tool_use'; id: string; name: string; input: unknown };

export const anthropicWire: WireProvider = {
  validate(body) {
    if (typeof body.model !== 'string') return 'model: Field required';
    if (!Array.isArray(body.messages)) return 'messages: Field required';
    if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
    if (body.stream) return 'stream: true is not supported by the fake LLM server';
    return validateTools(body);
  },

  prompt: (body) => collectPrompt(body.messages, body.system),

  error: (type, message) => ({ type: 'error', error: { type, message } }),

  reply({ body, prompt, fault, seed, label, id, tools: knobs, schemaOnly, pinned, cachedShare = 0 }: ReplyInput) {
    const ctx: ValueContext = { source: prompt.source, all: prompt.all, seed, label, overfill: fault === 'overfill', schemaOnly, pinned };
    const last = body.messages.at(-1);
    const afterResults = last?.role === 'user' && Array.isArray(last.content) && last.content.some((b: any) => b?.type === 'tool_result');
    const toCall = pickTools(offered(body), choiceOf(body.tool_choice), afterResults, knobs, body.tool_choice?.type === 'any');
    const text = (t: string): Block => ({ type: 'text', text: t, citations: null });
    let content: Block[];
    let stop: string;

    if (fault === 'refusal') {
      [content, stop] = [[text(REFUSAL)], 'refusal'];
    } else if (toCall.length > 0) {
      const args = toolArguments(toCall, ctx, fault === 'schema').map((a) => (fault === 'misalign' ? misalign(a) : a));
      const use = (k: number, input: unknown): Block => ({ type: 'tool_use', id: `toolu_${id}_${k}`, name: toCall[k].name, input });
      if (fault === 'malformed') {
        // Tool input arrives already parsed, so broken JSON can only show up as text.
        [content, stop] = [[text(brokenJson(JSON.stringify(args[0])))], 'end_turn'];
      } else if (fault === 'truncate') {
        [content, stop] = [[use(0, {})], 'max_tokens'];
      } else {
        [content, stop] = [args.map((a, k) => use(k, a)), 'tool_use'];
      }
    } else {
      const answer = textAnswer(ctx);
      if (fault === 'malformed') [content, stop] = [[text(brokenJson(JSON.stringify({ answer })))], 'end_turn'];
      else if (fault === 'schema') [content, stop] = [[text('{}')], 'end_turn'];
      else if (fault === 'truncate') [content, stop] = [[text(answer.slice(0, Math.max(1, Math.floor(answer.length / 2))))], 'max_tokens'];
      else [content, stop] = [[text(answer)], 'end_turn'];
    }

    const produced = content.map((b) => (b.type === 'text' ? b.text : JSON.stringify(b.input))).join('');
    // Anthropic counts cache reads apart from input_tokens.
    const promptTokens = estimateTokens(prompt.chars);
    const cacheRead = Math.floor(promptTokens * cachedShare);
    return {
      id: `msg_${id}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: {
        input_tokens: promptTokens - cacheRead,
        output_tokens: estimateTokens(produced.length),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: cacheRead,
      },
    };
  },
};

const offered = (body: Record<string, any>): OfferedTool[] =>
  (Array.isArray(body.tools) ? body.tools : []).map((t: any) => ({ name: t.name, parameters: t.input_schema }));

/** `any` forces some call, like OpenAI's 'required'. */
function choiceOf(choice: any): Choice {
  switch (choice?.type) {
    case 'none':
      return 'none';
    case 'any':
      return 'required';
    case 'tool':
      return { name: choice.name };
    default:
      return 'auto';
  }
}

const blocks = (m: any): any[] => (Array.isArray(m?.content) ? m.content : []);

/** What Anthropic refuses with 400 about tools; wording close to the real API's. */
function validateTools(body: Record<string, any>): string | undefined {
  const tools: any[] | undefined = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return 'tools: Input should be a valid list';
    const bad = tools.findIndex((t) => typeof t?.name !== 'string' || t?.input_schema?.type !== 'object');
    if (bad >= 0) return `tools.${bad}: a tool needs a name and an input_schema of type "object"`;
  }
  const choice = body.tool_choice;
  if (choice !== undefined) {
    if (!['auto', 'any', 'tool', 'none'].includes(choice?.type)) return `tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'`;
    if (choice.type === 'tool' && !tools?.some((t) => t?.name === choice.name)) return `tool_choice: tool "${choice.name}" is not in tools`;
  }
  // Every tool_use must be answered by a tool_result in the very next (user) message, and every
  // tool_result must answer a tool_use of the message just before it.
  for (const [i, m] of body.messages.entries()) {
    const uses = blocks(m).filter((b) => b?.type === 'tool_use').map((b) => b.id);
    const next = body.messages[i + 1];
    const answered = new Set(blocks(next).filter((b) => b?.type === 'tool_result').map((b) => b.tool_use_id));
    if (uses.length > 0 && next && uses.some((u) => !answered.has(u))) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${uses.filter((u) => !answered.has(u)).join(', ')}`;
    }
    const previous = new Set(i > 0 ? blocks(body.messages[i - 1]).filter((b) => b?.type === 'tool_use').map((b) => b.id) : []);
    const stray = blocks(m).find((b) => b?.type === 'tool_result' && !previous.has(b.tool_use_id));
    if (stray) return `messages.${i}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
  }
  return undefined;
}
