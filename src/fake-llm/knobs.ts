// The fake teacher's knobs checked as they are set, and what a fault rule answers.
import { isObject } from './batch-http.js';
import type { LineAnswer } from './batches.js';
import type { FaultKind, FaultRule, PinRule, WireProvider } from './types.js';

const FAULT_KINDS: ReadonlySet<string> = new Set<FaultKind>(['429', '500', 'malformed', 'truncate', 'hang', 'refusal', 'schema', 'overfill', 'misalign']);

export function checkLatency(value: unknown): number | [number, number] {
  if (typeof value === 'number' && value >= 0) return value;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number' && v >= 0) && value[0] <= value[1]) {
    return [value[0], value[1]];
  }
  throw new TypeError(`latencyMs must be a non-negative number or [min, max], got ${JSON.stringify(value)}`);
}

export function checkCount(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 16) return value;
  throw new TypeError(`toolCallsPerTurn must be an integer from 1 to 16, got ${JSON.stringify(value)}`);
}

export function checkFaults(value: unknown): FaultRule[] {
  if (!Array.isArray(value)) throw new TypeError('faults must be an array');
  for (const rule of value) {
    if (!FAULT_KINDS.has(rule?.kind)) throw new TypeError(`unknown fault kind ${JSON.stringify(rule?.kind)}`);
  }
  // Copies, because `times` counts down in place; rules that may not fire at all are dropped.
  return value.map((rule) => ({ ...rule })).filter((rule) => rule.times === undefined || rule.times > 0);
}

export function checkPins(value: unknown): PinRule[] {
  if (!Array.isArray(value)) throw new TypeError('pins must be an array');
  for (const rule of value) {
    if (typeof rule?.match !== 'string' || !isObject(rule.values)) throw new TypeError('a pin is { match: string, values: object }');
  }
  return value.map((rule) => ({ match: rule.match, values: { ...rule.values } }));
}

/** The answer a '429' or '500' fault gets, online and in a batch line alike. */
export function faultAnswer(wire: WireProvider, fault: FaultRule | undefined): Exclude<LineAnswer, 'hang'> | undefined {
  if (fault?.kind === '429') {
    const headers = { 'retry-after': String(fault.retryAfter ?? 1) };
    return { status: 429, body: wire.error('rate_limit_error', 'Rate limit reached (fake-llm fault injection)'), headers };
  }
  if (fault?.kind === '500') return { status: 500, body: wire.error('api_error', 'Internal server error (fake-llm fault injection)') };
  return undefined;
}
