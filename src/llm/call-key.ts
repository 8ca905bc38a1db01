import { hashOf } from '../ids.js';
import type { Provider } from './providers.js';
import type { TeacherRequest } from './teacher-request.js';

/**
 * The hash of what determines a teacher's answer: the provider's kind and endpoint (not its name,
 * so two names for one endpoint share answers), the model and the whole request in wire form
 * (system, messages, tools, tool choice, response schema, temperature, max tokens). Canonical JSON,
 * so key order does not matter.
 */
export const requestKey = (provider: Provider, model: string, request: TeacherRequest): string =>
  hashOf({ kind: provider.kind, base_url: provider.baseUrl, model, request });

/**
 * The key a call is cached and batched under. A request sampled above temperature 0 may be asked
 * on purpose more than once (N conversations from one prompt): those are different samples, so the
 * key also names the task (its key, deterministic across identical runs) and which occurrence of
 * the same request within the task it is. An identical rerun has the same task keys and so the same
 * keys; two tasks asking the same question at temperature 0 share one answer.
 */
export function callKey(request: TeacherRequest, base: string, taskKey: string, occurrence: number): string {
  if (request.temperature === 0) return base;
  return hashOf({ base, task: taskKey, occurrence });
}
