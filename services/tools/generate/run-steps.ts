import { LlmError } from '../../../src/llm/llm.errors.js';
import type { LlmClient, LlmSettings } from '../../../src/llm/llm.client.js';
import type { Usage } from '../../../src/llm/usage.js';
import { render, type PromptTemplate } from '../../../src/prompts.js';
import type { Tool, ToolExecutor } from '../tool.js';
import { verifyFormat } from '../verify-format.js';
import { callKeys, historyText, linksInto, stepSchema, toolDocs, type DoneCall, type PlanLink } from './example-prompt.js';
import { isRecord } from '../../../src/plain-object.js';

export interface StepsInput {
  llm: Pick<LlmClient, 'structured'>;
  signal: AbortSignal;
  usage: Usage;
  payload: { steps: string[][]; links: PlanLink[]; llm: LlmSettings; system_prompt?: string };
  byName: ReadonlyMap<string, Tool>;
  prompt: PromptTemplate;
  chain: string;
  instruction: string;
  scenario: string;
  /** Call ids are `${idBase}_${step}_${call}`: unique in the conversation, stable for the task. */
  idBase: string;
  executor: ToolExecutor;
  /** The steps done so far, shared with the simulated executor (its results stay consistent with them). */
  session: { steps: Array<{ thought: string; calls: DoneCall[] }> };
}

export interface StepsOutcome {
  steps: Array<{ thought: string; calls: DoneCall[] }>;
  /** The stage that stopped the example, if one did. */
  failure?: { stage: 'format' | 'execution'; reason: string };
}

/**
 * Runs the planned steps in order. Each step is one structured call whose schema requires exactly
 * the step's planned calls, with the earlier steps and their results in the prompt (so arguments can
 * use them); invalid arguments are fed back by `verifyFormat` as the call's check. The calls of a
 * step are then executed together and their results feed the next step. Arguments the teacher never
 * gets right stop the example at the format stage; a call that fails for good stops it at the
 * execution stage; a call worth retrying (a timeout, a 5xx) is thrown, for the queue to retry.
 */
export async function runSteps(x: StepsInput): Promise<StepsOutcome> {
  const steps = x.session.steps;
  for (const [s, names] of x.payload.steps.entries()) {
    const tools = names.map((name) => {
      const tool = x.byName.get(name);
      if (!tool) throw new LlmError('api', `the plan names ${name}, which is not among the offered tools`);
      return tool;
    });
    const keys = callKeys(names);
    let answer;
    try {
      answer = await x.llm.structured({
        llm: x.payload.llm,
        system: x.payload.system_prompt ?? x.prompt.system,
        prompt: render(x.prompt.user, {
          instruction: x.instruction,
          scenario: x.scenario,
          chain: x.chain,
          history: historyText(steps),
          step: s + 1,
          steps: x.payload.steps.length,
          calls: names.join(' and '),
          links: linksInto(x.payload.links, s),
          docs: toolDocs(tools),
          call_keys: keys.map((k) => `"${k}": {...}`).join(', '),
        }),
        schema: stepSchema(tools, keys),
        schemaName: 'tool_step',
        signal: x.signal,
        usage: x.usage,
        check: (value) => {
          const verdict = verifyFormat(x.byName, keys.map((k, i) => ({ tool: names[i], args: value.calls[k] })));
          return verdict.passed ? undefined : `calls.${verdict.reason}`;
        },
      });
    } catch (err) {
      // Arguments that never fit the tools' schemas, after the errors were fed back: this example fails its format check.
      if (err instanceof LlmError && err.category === 'schema') return { steps, failure: { stage: 'format', reason: `step ${s + 1}: ${err.message}` } };
      throw err;
    }
    const calls = keys.map((k, i) => ({ id: `${x.idBase}_${s + 1}_${i + 1}`, tool: names[i], args: answer.value.calls[k] }));
    const bad = calls.find((c) => !isRecord(c.args));
    if (bad) return { steps, failure: { stage: 'format', reason: `step ${s + 1}: the arguments of ${bad.tool} are not a JSON object` } };
    const args = calls.map((c) => (isRecord(c.args) ? c.args : {}));
    const results = await Promise.all(calls.map((c, i) => x.executor.execute(tools[i], args[i], x.signal)));
    steps.push({
      thought: answer.value.thought.trim(),
      calls: calls.map((c, i) => {
        const r = results[i];
        return { id: c.id, tool: c.tool, args: args[i], result: r.ok ? r.result : { error: r.reason } };
      }),
    });
    for (const [i, r] of results.entries()) {
      if (r.ok) continue;
      if (r.retryable) throw new LlmError('api', `tool ${names[i]} failed (step ${s + 1}), worth another try: ${r.reason}`, { retryable: true });
      return { steps, failure: { stage: 'execution', reason: `step ${s + 1}: ${names[i]} failed: ${r.reason}` } };
    }
  }
  return { steps };
}
