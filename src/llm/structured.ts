import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Logger } from 'pino';
import { toStorable } from '../safe-input.js';
import type { LlmSettings } from './llm-settings.js';
import { LlmError, type FailureCategory } from './llm.errors.js';
import type { CompleteRequest, Completion, TeacherMessage, TeacherResponse } from './teacher-request.js';
import type { Usage } from './usage.js';

export interface StructuredRequest<S extends TSchema> {
  llm: LlmSettings;
  system?: string;
  prompt: string;
  schema: S;
  schemaName: string;
  signal: AbortSignal;
  /** Accumulates what the call cost, including failed attempts. */
  usage: Usage;
  /** Extra attempts with the validation error fed back (DeepFabric's sample_retries). */
  sampleRetries?: number;
  /** A check the schema cannot express (e.g. items aligned with the input); its message is fed back like a schema error. */
  check?: (value: Static<S>) => string | undefined;
}

export type Structured = <S extends TSchema>(req: StructuredRequest<S>) => Promise<{ value: Static<S>; model: string; provider: string }>;

const MAX_ECHO = 4000;

/** structured() on top of complete(): ask for the schema, judge the answer, send problems back. */
export function createStructured(complete: (req: CompleteRequest) => Promise<Completion>, log?: Logger): Structured {
  const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();

  return async function structured<S extends TSchema>(req: StructuredRequest<S>) {
    let check = checkers.get(req.schema);
    if (!check) checkers.set(req.schema, (check = TypeCompiler.Compile(req.schema)));
    // Judged once per answer, whether middleware (metrics) or this loop asks first.
    const verdicts = new WeakMap<TeacherResponse, Verdict>();
    const verdictOf = (res: TeacherResponse) => {
      let v = verdicts.get(res);
      if (v) return v;
      v = judge(res, check);
      const problem = v.ok && req.check ? req.check(v.value as Static<S>) : undefined;
      if (problem) v = { ok: false, category: 'schema', message: `the answer is inconsistent: ${problem}`, feedback: `Your JSON was inconsistent: ${problem}\nAnswer again with corrected JSON.` };
      verdicts.set(res, v);
      return v;
    };

    const messages: TeacherMessage[] = [{ role: 'user', content: req.prompt }];
    const attempts = 1 + (req.sampleRetries ?? 2);
    let last: { category: FailureCategory; message: string } = { category: 'json', message: 'no answer' };
    for (let attempt = 0; attempt < attempts; attempt++) {
      const { response, model, provider } = await complete({
        llm: req.llm,
        request: { system: req.system, messages: [...messages], response: { name: req.schemaName, schema: req.schema } },
        signal: req.signal,
        usage: req.usage,
        rejects: (res) => {
          const v = verdictOf(res);
          return v.ok ? undefined : v.category;
        },
      });
      if (response.finish === 'refusal') throw new LlmError('refusal', `the teacher refused: ${response.refusal ?? ''}`.trim());
      const verdict = verdictOf(response);
      if (verdict.ok) return { value: verdict.value as Static<S>, model, provider };
      last = verdict;
      log?.debug({ provider, model, attempt, category: verdict.category }, 'teacher answer rejected');
      messages.push({ role: 'assistant', content: response.text.slice(0, MAX_ECHO) || '(empty)' }, { role: 'user', content: verdict.feedback });
    }
    throw new LlmError(last.category, `${last.message} (after ${attempts} attempts)`, { retryable: true });
  };
}

type Verdict = { ok: true; value: unknown } | { ok: false; category: FailureCategory; message: string; feedback: string };

function judge(result: TeacherResponse, check: TypeCheck<TSchema>): Verdict {
  if (result.finish === 'length') {
    return { ok: false, category: 'length', message: 'the answer was cut off at max_tokens', feedback: 'Your answer was cut off because it was too long. Answer again, more concisely, with complete JSON.' };
  }
  let value = result.parsed;
  if (value === undefined) {
    try {
      value = JSON.parse(result.text);
    } catch (err) {
      return { ok: false, category: 'json', message: `the answer is not valid JSON: ${(err as Error).message}`, feedback: `Your answer was not valid JSON (${(err as Error).message}). Answer again with only a JSON object that follows the schema.` };
    }
  }
  // A NUL or a lone surrogate in an answer would fail the commit (Postgres cannot store it): mended here.
  value = toStorable(value);
  if (check.Check(value)) return { ok: true, value };
  const errors = [...check.Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  return { ok: false, category: 'schema', message: `the answer does not match the schema: ${errors.join('; ')}`, feedback: `Your JSON did not match the required schema:\n- ${errors.join('\n- ')}\nAnswer again with JSON that fixes these problems.` };
}
