import type { FakeLlmOptions, RecordedRequest } from '../../src/fake-llm/server.js';

/**
 * The two fake teachers the batch suites run against: one that answers from the prompt (each
 * labelled item from its own text), and one that obeys the JSON Schema and nothing else (random
 * schema-valid values, no labels echoed), as constrained decoding on a small local model does.
 */
export const TEACHER_MODES: Array<{ mode: string; fake: FakeLlmOptions }> = [
  { mode: 'a teacher that reads the prompt', fake: { latencyMs: 2 } },
  { mode: 'a teacher that only follows the schema', fake: { latencyMs: 2, schemaOnly: true } },
];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const LABEL_LINE = /^\[([\w.-]{1,40})\]$/;

/** The labelled items of a batch prompt: label → the item's text (up to a blank line). */
export function promptItems(prompt: string): Map<string, string> {
  const items = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of prompt.split('\n')) {
    const label = LABEL_LINE.exec(line)?.[1];
    if (label) items.set(label, (current = []));
    else if (!line.trim()) current = undefined;
    else current?.push(line);
  }
  return new Map([...items].map(([label, lines]) => [label, lines.join('\n')]));
}

/** The first user message and the parsed JSON answer of an OpenAI-style exchange named `schemaName`. */
function exchange(r: RecordedRequest, schemaName: string): { prompt: string; answer: Record<string, unknown> } | undefined {
  const body = r.body;
  if (!isRecord(body) || !isRecord(body.response_format) || !isRecord(body.response_format.json_schema)) return undefined;
  if (body.response_format.json_schema.name !== schemaName || !Array.isArray(body.messages)) return undefined;
  const user = body.messages.find((m): m is Record<string, unknown> => isRecord(m) && m.role === 'user');
  const choice = isRecord(r.response) && Array.isArray(r.response.choices) ? r.response.choices[0] : undefined;
  const content = isRecord(choice) && isRecord(choice.message) ? choice.message.content : undefined;
  if (typeof user?.content !== 'string' || typeof content !== 'string') return undefined;
  try {
    const answer: unknown = JSON.parse(content);
    return isRecord(answer) ? { prompt: user.content, answer } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the teacher answered for each labelled item of the `schemaName` calls, keyed by the item's
 * text as the prompt showed it (a list: the same text may be asked about in several calls). Only
 * answers with exactly the prompt's labels count: those are the ones a task could store. A record is
 * aligned when it carries an answer given under its own item.
 */
export function answersByItem(requests: RecordedRequest[], schemaName: string): Map<string, Array<Record<string, unknown>>> {
  const out = new Map<string, Array<Record<string, unknown>>>();
  for (const r of requests) {
    const ex = exchange(r, schemaName);
    if (!ex) continue;
    const items = promptItems(ex.prompt);
    const labels = [...items.keys()].sort().join();
    if (items.size === 0 || Object.keys(ex.answer).sort().join() !== labels) continue;
    for (const [label, text] of items) {
      const entry = ex.answer[label];
      if (isRecord(entry)) out.set(text, [...(out.get(text) ?? []), entry]);
    }
  }
  return out;
}

/** The one answer given for an item's text (a test's items are distinct, so there is exactly one). */
export function answerTo(answers: Map<string, Array<Record<string, unknown>>>, text: string): Record<string, unknown> {
  const given = answers.get(text) ?? [];
  if (given.length !== 1) throw new Error(`expected one answer for ${JSON.stringify(text)}, found ${given.length}`);
  return given[0];
}

/** The batch calls named `schemaName`: how many items each prompt carried. */
export const batchSizes = (requests: RecordedRequest[], schemaName: string) =>
  requests.map((r) => exchange(r, schemaName)).filter((ex) => ex !== undefined).map((ex) => promptItems(ex.prompt).size);

/** Tokens the fake teacher reported over these exchanges, as a run's usage should count them. */
export function reportedUsage(requests: RecordedRequest[]): { requests: number; input_tokens: number; output_tokens: number } {
  let [input, output, answered] = [0, 0, 0];
  for (const r of requests) {
    const usage = isRecord(r.response) && isRecord(r.response.usage) ? r.response.usage : undefined;
    if (!usage) continue;
    answered++;
    input += Number(usage.prompt_tokens ?? usage.input_tokens ?? 0);
    output += Number(usage.completion_tokens ?? usage.output_tokens ?? 0);
  }
  return { requests: answered, input_tokens: input, output_tokens: output };
}
