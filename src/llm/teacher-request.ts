import type { LlmSettings } from './llm-settings.js';
import type { FailureCategory } from './llm.errors.js';
import type { TokenCount, Usage } from './usage.js';

/**
 * A JSON Schema: a TypeBox schema or a plain object. What is sent is its provider-safe form
 * (wire-schema.ts); the original stays with the caller to validate what comes back.
 */
export type JsonSchema = Record<string, unknown>;

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: JsonSchema;
}

export interface ToolCall {
  /** The provider's id for the call; a tool result names it in `tool_call_id`. */
  id: string;
  name: string;
  /** The arguments parsed; the raw text when the provider's were not JSON, so a validator rejects them. */
  arguments: unknown;
}

export type TeacherMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** 'required': some tool must be called; `{ name }`: that one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** One provider-neutral teacher request; the adapters map it to each wire format. */
export interface TeacherRequest {
  system?: string;
  messages: TeacherMessage[];
  tools?: ToolSpec[];
  /** 'auto' when tools are offered and this is absent. */
  tool_choice?: ToolChoice;
  /**
   * Ask for a JSON answer that follows `schema`. With tools offered too, the answer is due once the
   * teacher stops calling tools; see src/llm/README.md for how each provider is asked.
   */
  response?: { name: string; schema: JsonSchema };
  /** Override the caller's LlmSettings for this request. */
  temperature?: number;
  max_tokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'refusal' | 'tool_calls';

export interface TeacherResponse {
  /** The answer as text; for a structured answer, its JSON. */
  text: string;
  /** The structured answer parsed, when a response schema was asked for and the answer is JSON. */
  parsed?: unknown;
  tool_calls: ToolCall[];
  finish: FinishReason;
  refusal?: string;
  usage: TokenCount;
  /**
   * How the answer came, when not from an online call: `cache` (the response cache answered; costs
   * nothing, counts as a cache hit) or `batch` (a provider batch answered; priced at batch rates).
   */
  via?: 'cache' | 'batch';
}

/**
 * Why the caller will send an answer back (a failure category), or undefined when it takes it. For
 * middleware that counts or keeps answers (metrics, a cache) and must not mistake a rejected answer
 * for a good one. May be asked more than once per answer.
 */
export type Rejects = (response: TeacherResponse) => FailureCategory | undefined;

/** What LlmClient.complete() takes. */
export interface CompleteRequest {
  llm: LlmSettings;
  /** Its temperature and max_tokens, when set, win over `llm`'s. */
  request: TeacherRequest;
  signal: AbortSignal;
  /** Accumulates what the call cost. */
  usage: Usage;
  rejects?: Rejects;
}

export interface Completion {
  response: TeacherResponse;
  model: string;
  provider: string;
}
