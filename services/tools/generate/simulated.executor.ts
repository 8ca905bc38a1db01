import { LlmError } from '../../../src/llm/llm.errors.js';
import type { LlmClient, LlmSettings } from '../../../src/llm/llm.client.js';
import type { Usage } from '../../../src/llm/usage.js';
import { render, type PromptTemplate } from '../../../src/prompts.js';
import type { ExecutionResult, Tool, ToolExecutor } from '../tool.js';
import { validateResult } from '../verify-format.js';
import { shown, simulationSchema } from './example-prompt.js';

/** The seed simulates at T 0.3: an API answers consistently, it does not improvise. */
const SIMULATION_TEMPERATURE = 0.3;

export interface SimulatedExecutorDeps {
  llm: Pick<LlmClient, 'structured'>;
  settings: LlmSettings;
  prompt: PromptTemplate;
  usage: Usage;
  /** The session so far (the request and earlier results), so the API answers consistently with it. */
  context: () => string;
}

/**
 * The teacher plays the API (Generator's `simulated` mode). The answer must be valid against the
 * tool's `returns` schema (checked by `validateResult` and fed back when it is not); an answer
 * that never becomes valid is an execution failure of this example, not a reason to retry the task.
 * Transport failures (rate limits, timeouts) are thrown: the queue retries the task.
 */
export function createSimulatedExecutor(deps: SimulatedExecutorDeps): ToolExecutor {
  return {
    mode: 'simulated',
    async execute(tool: Tool, args: Record<string, unknown>, signal: AbortSignal): Promise<ExecutionResult> {
      try {
        const answer = await deps.llm.structured({
          llm: { ...deps.settings, temperature: SIMULATION_TEMPERATURE },
          system: deps.prompt.system,
          prompt: render(deps.prompt.user, {
            name: tool.name,
            description: tool.description,
            returns: tool.returns ? shown(tool.returns, 2_000) : 'a JSON object',
            args: shown(args, 4_000),
            context: deps.context(),
          }),
          schema: simulationSchema(tool),
          schemaName: 'tool_result',
          signal,
          usage: deps.usage,
          check: (value) => {
            const verdict = validateResult(tool, value.result);
            return verdict.passed ? undefined : verdict.reason;
          },
        });
        return { ok: true, result: answer.value.result };
      } catch (err) {
        if (err instanceof LlmError && err.category === 'schema') return { ok: false, reason: `the simulated result never matched ${tool.name}'s returns schema: ${err.message}`, retryable: false };
        throw err;
      }
    },
  };
}
