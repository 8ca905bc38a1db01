// Shared shapes between the HTTP layer (server.ts) and the wire-format modules (openai.ts, anthropic.ts).

/** Same wording for both providers so tests can assert on it. */
export const REFUSAL = 'I can’t help with that.';

export type FaultKind = '429' | '500' | 'malformed' | 'truncate' | 'hang' | 'refusal' | 'schema' | 'overfill' | 'misalign';

export interface FaultRule {
  kind: FaultKind;
  /** Only requests whose prompt text contains this substring are affected. */
  match?: string;
  /** How many more times the rule may fire; unlimited when absent. */
  times?: number;
  /** Seconds sent in `retry-after` for '429'; defaults to 1. */
  retryAfter?: number;
}

/** Answers the JSON of requests whose prompt contains `match` with these top-level values (the rest as usual). */
export interface PinRule {
  match: string;
  values: Record<string, unknown>;
}

/** Faults that still produce a 200 answer and so are shaped by the provider module. */
export type AnswerFault = Extract<FaultKind, 'malformed' | 'schema' | 'truncate' | 'refusal' | 'overfill' | 'misalign'>;

export interface PromptText {
  /** Every message (and system prompt) joined by newlines; what `match` is tested against. */
  all: string;
  /** Text the answer is drawn from: the fenced passage, else the first user message, else everything. */
  source: string;
  /** Sum of the character lengths of the message contents, for the token estimate. */
  chars: number;
}

/** How the fake answers tool requests; see tools.ts. */
export interface ToolKnobs {
  /** With tool_choice 'auto' (Anthropic: `auto`), call the offered tools instead of answering. */
  autoToolCalls: boolean;
  /** Calls per tool-calling turn, cycling over the offered tools (a named tool is called this often). */
  toolCallsPerTurn: number;
}

export interface ReplyInput {
  body: Record<string, any>;
  prompt: PromptText;
  fault?: AnswerFault;
  /** Hash of the raw request body, so identical requests get identical answers. */
  seed: number;
  label: string;
  id: string;
  tools: ToolKnobs;
  /** Answer with random schema-valid values only (FakeLlmOptions.schemaOnly). */
  schemaOnly: boolean;
  /** The values of the first pin rule that matched the prompt. */
  pinned?: Record<string, unknown>;
  /** Share of the prompt tokens reported as read from the prompt cache (FakeLlmOptions.cachedPromptShare). */
  cachedShare?: number;
}

export interface WireProvider {
  /** Returns an error message when the request is one we refuse with 400. */
  validate(body: Record<string, any>): string | undefined;
  prompt(body: Record<string, any>): PromptText;
  error(type: 'invalid_request_error' | 'rate_limit_error' | 'api_error' | 'not_found_error', message: string): unknown;
  reply(input: ReplyInput): unknown;
}
