// OpenAI chat-completions wire format: request validation, answers, and error bodies.
import { collectPrompt, estimateTokens } from './prompt-text.js';
import { brokenJson, textAnswer, valueFromSchema, violateSchema, type ValueContext } from './schema-value.js';
import { REFUSAL, type ReplyInput, type WireProvider } from './types.js';

export const openaiWire: WireProvider = {
  validate(body) {
    if (typeof body.model !== 'string') return "you must provide a model parameter";
    if (!Array.isArray(body.messages)) return "'messages' is a required property";
    if (body.stream) return 'stream: true is not supported by the fake LLM server';
    return undefined;
  },

  // System and developer prompts travel inside `messages` here.
  prompt: (body) => collectPrompt(body.messages),

  error(type, message) {
    return { error: { message, type, param: null, code: type === 'rate_limit_error' ? 'rate_limit_exceeded' : null } };
  },

  reply({ body, prompt, fault, seed, label, id }: ReplyInput) {
    const ctx: ValueContext = { source: prompt.source, all: prompt.all, seed, label, overfill: fault === 'overfill' };
    const format = body.response_format;
    const wantsJson = format?.type === 'json_schema' || format?.type === 'json_object';
    let content: string | null = wantsJson
      ? JSON.stringify(jsonAnswer(format?.json_schema?.schema, ctx, fault === 'schema'))
      : fault === 'schema'
        ? '{}'
        : textAnswer(ctx);
    let refusal: string | null = null;
    let finish = 'stop';
    if (fault === 'malformed') content = brokenJson(wantsJson ? content : JSON.stringify({ answer: content }));
    if (fault === 'truncate') {
      content = content.slice(0, Math.max(1, Math.floor(content.length / 2)));
      finish = 'length';
    }
    if (fault === 'refusal') [content, refusal] = [null, REFUSAL];

    const promptTokens = estimateTokens(prompt.chars);
    const completionTokens = estimateTokens((content ?? refusal ?? '').length);
    return {
      id: `chatcmpl-${id}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal, annotations: [] }, logprobs: null, finish_reason: finish },
      ],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      system_fingerprint: 'fake-llm',
    };
  },
};

function jsonAnswer(schema: unknown, ctx: ValueContext, violate: boolean): unknown {
  // json_object mode (or a json_schema without a schema) only promises "some object".
  if (schema === undefined) return violate ? {} : { answer: textAnswer(ctx) };
  return violate ? violateSchema(schema) : valueFromSchema(schema, ctx);
}
