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
 * keys; two tasks asking the same question at temperature 0 share one answer. A retry (attempt 2 on)
 * gets keys of its own: an answer its failed attempt took (a check after the call rejected the
 * result) would fail it again, so a retry costs a call, and a rerun finds both attempts' answers.
 */
export function callKey(request: TeacherRequest, base: string, task: { taskKey: string; attempt?: number }, occurrence: number): string {
  const attempt = task.attempt ?? 1;
  const retry = attempt > 1 ? { attempt } : {};
  if (request.temperature === 0) return attempt > 1 ? hashOf({ base, ...retry }) : base;
  return hashOf({ base, task: task.taskKey, occurrence, ...retry });
}
