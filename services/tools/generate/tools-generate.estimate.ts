import { est, PROMPT_CHARS } from '../../jobs/dry-run.js';
import type { TaskEstimator } from '../../jobs/job-module.js';

/** Characters one done call (its arguments and result) adds to the history later prompts carry. */
const CALL_CHARS = 600;
/** Tokens typically answered: the request, a step (thought and arguments), a simulated result, the final answer, the verdict. */
const TOKENS = { instruction: 80, step: 120, result: 150, final: 150, verdict: 120 } as const;

/**
 * tools.example: one call for the request, one per step, one per call when the teacher plays the
 * API (simulated), then the final answer and the judge. Each sees its prompt, the docs of the tools
 * involved and the history so far; a rejected example made afresh (`regenerate`) is not counted.
 */
export const toolsGenerateEstimates: Record<string, TaskEstimator> = {
  'tools.example': (p) => {
    const steps = Array.isArray(p.steps) ? p.steps : [];
    const calls = steps.reduce((n: number, s: unknown) => n + (Array.isArray(s) ? s.length : 0), 0);
    const simulated = est.field(p.execution, 'mode') === 'simulated' ? calls : 0;
    const teacherCalls = 1 + steps.length + simulated + 2;
    const docs = est.chars(p.tools);
    const history = teacherCalls * calls * CALL_CHARS;
    const inputChars = teacherCalls * PROMPT_CHARS + (1 + steps.length) * docs + est.chars(p.seed_examples) + history / 2;
    const outputTokens = TOKENS.instruction + steps.length * TOKENS.step + simulated * TOKENS.result + TOKENS.final + TOKENS.verdict;
    return { calls: teacherCalls, inputChars: Math.ceil(inputChars), outputTokens };
  },
};
