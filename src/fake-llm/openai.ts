// OpenAI chat-completions wire format: request validation, answers, tool calls and error bodies.
import { collectPrompt, estimateTokens } from './prompt-text.js';
import { brokenJson, misalign, textAnswer, valueFromSchema, violateSchema, type ValueContext } from './schema-value.js';
import { pickTools, toolArguments, type Choice, type OfferedTool } from './tools.js';
import { REFUSAL, type ReplyInput, type WireProvider } from './types.js';

export const openaiWire: WireProvider = {
  validate(body) {
    if (typeof body.model !== 'string') return "you must provide a model parameter";
    if (!Array.isArray(body.messages)) return "'messages' is a required property";
    if (body.stream) return 'stream: true is not supported by the fake LLM server';
    return validateTools(body);
  },

  // System and developer prompts travel inside `messages` here.
  prompt: (body) => collectPrompt(body.messages),

  error(type, message) {
    return { error: { message, type, param: null, code: type === 'rate_limit_error' ? 'rate_limit_exceeded' : null } };
  },

  reply({ body, prompt, fault, seed, label, id, tools: knobs, schemaOnly, pinned, cachedShare = 0 }: ReplyInput) {
    const ctx: ValueContext = { source: prompt.source, all: prompt.all, seed, label, overfill: fault === 'overfill', schemaOnly, pinned };
    const afterResults = body.messages.at(-1)?.role === 'tool';
    const toCall = fault === 'refusal' ? [] : pickTools(offered(body), choiceOf(body.tool_choice), afterResults, knobs);
    let content: string | null = null;
    let toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> | undefined;
    let refusal: string | null = null;
    let finish = 'stop';

    if (toCall.length > 0) {
      const args = toolArguments(toCall, ctx, fault === 'schema').map((a) => JSON.stringify(fault === 'misalign' ? misalign(a) : a));
      const broken = (text: string) => (fault === 'malformed' ? brokenJson(text) : fault === 'truncate' ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text);
      toolCalls = toCall.map((t, k) => ({ id: `call_${id}_${k}`, type: 'function', function: { name: t.name, arguments: broken(args[k]) } }));
      finish = fault === 'truncate' ? 'length' : 'tool_calls';
    } else {
      const format = body.response_format;
      const wantsJson = format?.type === 'json_schema' || format?.type === 'json_object';
      const json = () => jsonAnswer(format?.json_schema?.schema, ctx, fault === 'schema');
      content = wantsJson ? JSON.stringify(fault === 'misalign' ? misalign(json()) : json()) : fault === 'schema' ? '{}' : textAnswer(ctx);
      if (fault === 'malformed') content = brokenJson(wantsJson ? content : JSON.stringify({ answer: content }));
      if (fault === 'truncate') {
        content = content.slice(0, Math.max(1, Math.floor(content.length / 2)));
        finish = 'length';
      }
      if (fault === 'refusal') [content, refusal] = [null, REFUSAL];
    }

    const produced = (content ?? refusal ?? '').length + (toolCalls ?? []).reduce((n, c) => n + c.function.arguments.length, 0);
    const promptTokens = estimateTokens(prompt.chars);
    const completionTokens = estimateTokens(produced);
    return {
      id: `chatcmpl-${id}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal, annotations: [], ...(toolCalls ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finish },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: Math.floor(promptTokens * cachedShare) },
      },
      system_fingerprint: 'fake-llm',
    };
  },
};

function jsonAnswer(schema: unknown, ctx: ValueContext, violate: boolean): unknown {
  // json_object mode (or a json_schema without a schema) only promises "some object".
  if (schema === undefined) return violate ? {} : { answer: textAnswer(ctx) };
  return violate ? violateSchema(schema) : valueFromSchema(schema, ctx);
}

const offered = (body: Record<string, any>): OfferedTool[] =>
  (Array.isArray(body.tools) ? body.tools : []).map((t: any) => ({ name: t.function.name, parameters: t.function.parameters }));

function choiceOf(choice: any): Choice {
  if (choice === undefined || choice === 'auto') return 'auto';
  if (choice === 'none' || choice === 'required') return choice;
  return { name: choice.function.name };
}

/** What OpenAI refuses with 400 about tools; wording close to the real API's. */
function validateTools(body: Record<string, any>): string | undefined {
  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return "Invalid type for 'tools': expected an array";
    const bad = tools.findIndex((t: any) => t?.type !== 'function' || typeof t?.function?.name !== 'string');
    if (bad >= 0) return `Missing required parameter: 'tools[${bad}].function.name' (type must be 'function')`;
  }
  const choice = body.tool_choice;
  if (choice !== undefined) {
    if (!Array.isArray(tools) || tools.length === 0) return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.";
    if (typeof choice === 'string' && !['auto', 'none', 'required'].includes(choice)) return `Invalid value for 'tool_choice': ${choice}`;
    if (typeof choice !== 'string' && (choice?.type !== 'function' || !tools.some((t: any) => t.function.name === choice?.function?.name))) {
      return `Invalid value for 'tool_choice': no function named ${JSON.stringify(choice?.function?.name)} in 'tools'`;
    }
  }
  // A tool message answers a call of the assistant turns before it; arguments travel as JSON text.
  const called = new Set<string>();
  for (const [i, m] of body.messages.entries()) {
    for (const c of Array.isArray(m?.tool_calls) ? m.tool_calls : []) {
      if (typeof c?.function?.arguments !== 'string') return `Invalid type for 'messages[${i}].tool_calls.function.arguments': expected a string`;
      called.add(c.id);
    }
    if (m?.role === 'tool' && !called.has(m.tool_call_id)) {
      return `Invalid parameter: messages[${i}]: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (no call ${JSON.stringify(m.tool_call_id)}).`;
    }
  }
  return undefined;
}
