import { Type } from '@sinclair/typebox';
import { hashOf } from '../../../src/ids.js';
import { render, requirePrompt } from '../../../src/prompts.js';
import { LlmSettings } from '../../jobs/job-options.js';
import { defineTask, type TypedTask } from '../../jobs/task-kind.js';
import { EXECUTION_MODES, Tool } from '../tool.js';
import { DIFFICULTIES, type ToolExample } from '../tool-example.js';
import { verifyFormat } from '../verify-format.js';
import { exampleRecord, failedVerification, toolsUsed, type Stage } from './example-record.js';
import { avoidText, chainText, DIFFICULTY_HINTS, FinalAnswer, historyText, InstructionAnswer, JudgeVerdict, seedExamplesText, toolDocs } from './example-prompt.js';
import { executorFor } from './executor-for.js';
import { runSteps, type StepsInput } from './run-steps.js';
import { ExecutionSettings, SeedExample } from './tools-generate.spec.js';

const Link = Type.Object({
  from: Type.Object({ step: Type.Integer({ minimum: 0 }), tool: Type.String() }),
  to: Type.Object({ step: Type.Integer({ minimum: 0 }), tool: Type.String(), parameter: Type.String() }),
});

/** tools.example: one planned example, with everything the worker needs (the offered tools' definitions included). */
export const ToolsExamplePayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  index: Type.Integer({ minimum: 0 }),
  mode: Type.Union([Type.Literal('single'), Type.Literal('multi')]),
  difficulty: Type.Union(DIFFICULTIES.map((d) => Type.Literal(d))),
  /** Tool names per step; several in one step are parallel calls. */
  steps: Type.Array(Type.Array(Type.String(), { minItems: 1 }), { minItems: 1 }),
  links: Type.Array(Link),
  /** The tools offered to the assistant in this example (the planned ones and distractors), normalised. */
  tools: Type.Array(Tool, { minItems: 1 }),
  language: Type.String(),
  seed_examples: Type.Array(SeedExample),
  execution: Type.Composite([ExecutionSettings, Type.Object({ mode: Type.Union(EXECUTION_MODES.map((m) => Type.Literal(m))) })]),
  threshold: Type.Number({ minimum: 0, maximum: 1 }),
  dataset_system_prompt: Type.String(),
  system_prompt: Type.Optional(Type.String()),
  /** Guidance for writing the request (DeepFabric's generation prompt and instructions). */
  instructions: Type.Optional(Type.String()),
  /** The topic path the request is written for (`topics_id`, or a pipeline's topics stage). */
  topic_path: Type.Optional(Type.Array(Type.String())),
  llm: LlmSettings,
  /** Which try of this plan this is (0 first), how many fresh tries a rejection earns, and the requests rejected before. */
  attempt: Type.Integer({ minimum: 0 }),
  regenerate: Type.Integer({ minimum: 0 }),
  avoid: Type.Array(Type.String()),
  tool_set_id: Type.Optional(Type.String()),
});

/**
 * Makes one tool-use example, chain-first: the request is written for the planned chain, each step
 * is answered under a schema that forces its planned calls, each call is executed (simulated, http
 * or mcp) and its result feeds the later steps, then the final answer. It is kept only when all
 * three checks pass — format (every call's arguments valid against its tool), execution (every call
 * ok) and semantic (the judge says correct with enough confidence). Anything else goes to the
 * rejected dataset with the stage and reason, and the plan is tried afresh up to `regenerate`
 * times. A judge that fails is never a pass: its error fails this attempt, and the queue retries.
 */
export const toolsExampleTask: TypedTask<typeof ToolsExamplePayload> = defineTask('tools.example', ToolsExamplePayload, (deps) => {
  const prompts = {
    instruction: requirePrompt(deps.prompts, 'tools-instruction'),
    step: requirePrompt(deps.prompts, 'tools-step'),
    simulate: requirePrompt(deps.prompts, 'tools-simulate'),
    final: requirePrompt(deps.prompts, 'tools-final'),
    judge: requirePrompt(deps.prompts, 'tools-judge'),
  };
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const byName = new Map(p.tools.map((t) => [t.name, t]));
    const chain = chainText(p.steps, p.links);
    const ask = { llm, signal, usage } as const;

    const intro = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompts.instruction.system,
      prompt: render(prompts.instruction.user, {
        difficulty: p.difficulty,
        language: p.language,
        chain,
        docs: toolDocs(p.tools.filter((t) => p.steps.some((s) => s.includes(t.name)))),
        difficulty_hint: DIFFICULTY_HINTS[p.difficulty],
        examples: seedExamplesText(p.seed_examples),
        avoid: avoidText(p.avoid),
        topic: p.topic_path ? `\nWrite it about this topic: ${p.topic_path.join(' → ')}\n` : '',
        guidance: p.instructions ? `\nGuidance from the dataset's author:\n${p.instructions}\n` : '',
      }),
      schema: InstructionAnswer,
      schemaName: 'tool_instruction',
      signal,
      usage,
    });
    const instruction = intro.value.instruction.trim();
    const scenario = intro.value.scenario.trim();
    const provenance = {
      scenario,
      example_index: p.index,
      attempt: p.attempt,
      model: intro.model,
      ...(p.tool_set_id ? { tool_set_id: p.tool_set_id } : {}),
      ...(p.topic_path ? { topic_path: p.topic_path } : {}),
    };

    const idBase = `call_${hashOf([task.run_id, task.key]).slice(0, 8)}`;
    const session: StepsInput['session'] = { steps: [] };
    const executor = executorFor(deps, p.execution, {
      llm,
      settings: p.llm,
      prompt: prompts.simulate,
      usage,
      context: () => `Request: ${instruction}\n${historyText(session.steps)}`,
    });
    const outcome = await runSteps({ ...ask, payload: p, byName, prompt: prompts.step, chain, instruction, scenario, idBase, executor, session }).finally(() => executor.close());
    const allCalls = outcome.steps.flatMap((s) => s.calls);
    const format = verifyFormat(byName, allCalls);
    const parts = { systemPrompt: p.dataset_system_prompt, instruction, scenario, difficulty: p.difficulty, mode: p.mode, steps: outcome.steps, offered: p.tools };
    const failure = outcome.failure ?? (format.passed ? undefined : { stage: 'format' as const, reason: format.reason ?? 'invalid arguments' });
    if (failure) return reject(exampleRecord({ ...parts, finalAnswer: '', verification: failedVerification(p.execution.mode, failure, format) }), failure.stage, failure.reason);

    const history = historyText(outcome.steps);
    const final = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompts.final.system,
      prompt: render(prompts.final.user, { instruction, history }),
      schema: FinalAnswer,
      schemaName: 'final_answer',
      signal,
      usage,
    });
    const finalAnswer = final.value.final_answer.trim();
    // Not caught: a judge that keeps failing fails the task (and the queue retries it); it never passes an example.
    const judged = await llm.structured({
      llm: p.llm,
      system: prompts.judge.system,
      prompt: render(prompts.judge.user, { instruction, docs: toolDocs(p.tools), history, final_answer: finalAnswer }),
      schema: JudgeVerdict,
      schemaName: 'semantic_verdict',
      signal,
      usage,
    });
    const v = judged.value;
    const passed = v.correct && v.confidence >= p.threshold;
    const reason = passed
      ? `judged correct with confidence ${v.confidence}`
      : v.correct
        ? `judged correct but with confidence ${v.confidence} < threshold ${p.threshold}`
        : `judged incorrect (confidence ${v.confidence})${v.issues.length ? `: ${v.issues.join('; ')}` : ''}`;
    const record = exampleRecord({
      ...parts,
      finalAnswer,
      verification: {
        format,
        execution: { passed: true, reason: `${allCalls.length} call(s) executed`, mode: p.execution.mode },
        semantic: { passed, reason, confidence: v.confidence, issues: v.issues },
      },
    });
    const judge = { judge_model: judged.model, judge_reasoning: v.reasoning };
    if (!passed) return reject({ ...record, ...judge }, 'semantic', reason);
    log.debug({ taskId: task.id, runId: task.run_id, tools: toolsUsed(outcome.steps) }, 'tool example kept');
    return { datasetId: p.dataset_id, records: [{ key: task.key, data: { ...record, ...provenance, ...judge } }] };

    /** The example to the rejected dataset, with the stage and reason; the plan tried afresh while tries remain. */
    function reject(example: ToolExample & Record<string, unknown>, stage: Stage, why: string) {
      const data = { ...example, ...provenance, rejected_stage: stage, rejected_reason: why, rejection: { reason: stage, detail: why } };
      const again = p.attempt < p.regenerate;
      return {
        datasetId: p.dataset_id,
        records: [{ key: task.key, data, datasetId: p.rejected_dataset_id }],
        ...(again ? { spawn: [toolsExampleTask.plan(`${baseKey(task.key)}/r${p.attempt + 1}`, { ...p, attempt: p.attempt + 1, avoid: [...p.avoid, instruction].slice(-5) }, task.max_attempts)] } : {}),
      };
    }
  };
});

/** A plan's first key (`e0042`), whatever try this is. */
const baseKey = (key: string) => key.split('/')[0];
