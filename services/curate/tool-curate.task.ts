import { Type, type Static } from '@sinclair/typebox';
import { recordsPage } from '../../db/datasets.repository.js';
import { hasUnfinishedTasks } from '../../db/run-claims.repository.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import { byLabel, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import { render, requirePrompt, type PromptTemplate } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import type { Usage } from '../../src/llm/usage.js';
import { balanceDifficulty } from './tool-balance.js';
import { stepJudgeText, toolJudgeText, toolView, type ToolView } from './tool-records.js';
import { DIFFICULTIES } from '../tools/tool-example.js';
import { isRecord } from '../../src/plain-object.js';
import { curationRating } from '../records/rating.js';

const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });
type Rec = Static<typeof Rec>;
export const MixSchema = Type.Object({ easy: Type.Number(), medium: Type.Number(), hard: Type.Number() });

/** curate.tool_judge: a batch of tool-use examples for the turn filter (when on) and the judge. */
export const ToolJudgePayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  /** Where survivors wait for the difficulty balance; absent = straight to the kept dataset (no record has a difficulty). */
  judged_dataset_id: Type.Optional(Type.String()),
  mix: Type.Optional(MixSchema),
  threshold: Type.Number(),
  /** The turn filter's threshold (0–1); absent = off. */
  turn_filter: Type.Optional(Type.Number()),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  records: Type.Array(Rec),
});

/** curate.tool_balance: the difficulty balance, once every judge task of the run is done. */
export const ToolBalancePayload = Type.Object({ dataset_id: Type.String(), rejected_dataset_id: Type.String(), judged_dataset_id: Type.String(), mix: MixSchema });

/** Generator's example rating: the parts, each bounded by the schema; the rating is their sum. */
export const ToolScore = Type.Object({
  tool_selection: Type.Integer({ minimum: 0, maximum: 3 }),
  parameter_correctness: Type.Integer({ minimum: 0, maximum: 3 }),
  reasoning_quality: Type.Integer({ minimum: 0, maximum: 2 }),
  result_usefulness: Type.Integer({ minimum: 0, maximum: 2 }),
  reasoning: Type.String(),
});
/** Generator's step rating (ToolMind's turn-level filter). */
export const StepScore = Type.Object({ rating: Type.Number({ minimum: 0, maximum: 1 }), issues: Type.Array(Type.String()), is_misleading: Type.Boolean(), reasoning: Type.String() });

const stepLabel = (example: number, step: number) => `e${example + 1}s${step + 1}`;

interface Call {
  llm: LlmClient;
  signal: AbortSignal;
  usage: Usage;
  p: Static<typeof ToolJudgePayload>;
}

/** Every step of every example under its own label; undefined when the batch answer was unusable (split it). */
async function rateSteps({ llm, signal, usage, p }: Call, prompt: PromptTemplate, views: ToolView[]) {
  const items = views.flatMap((v, e) => v.steps.map((_, s) => ({ label: stepLabel(e, s), text: stepJudgeText(v, s) })));
  if (items.length === 0) return views.map(() => []);
  const labels = items.map((i) => i.label);
  const answer = await unlessSplit(
    views.length,
    llm.structured({
      llm: p.llm,
      system: prompt.system,
      prompt: render(prompt.user, { n: items.length, steps: items.map((i) => `[${i.label}]\n${i.text}`).join('\n\n'), labels: labels.join(', ') }),
      schema: labelledSchema(StepScore, labels),
      schemaName: 'step_ratings',
      signal,
      usage,
    }),
  );
  return answer && views.map((v, e) => v.steps.map((_, s) => answer.value[stepLabel(e, s)]));
}

/**
 * Judges a batch of tool-use examples. With the turn filter on, every step is rated first (with the
 * instruction and the earlier steps as context) and an example with a step below the threshold is
 * rejected; the rest are scored on Generator's rubric, the rating computed here as the sum. Answers
 * are read by label; an unusable batch answer splits the batch into single examples, and an error
 * is a retry, then a failed task: nothing is kept without its verdict.
 */
export const curateToolJudgeTask: TypedTask<typeof ToolJudgePayload> = defineTask('curate.tool_judge', ToolJudgePayload, ({ prompts }) => {
  const judgePrompt = requirePrompt(prompts, 'curate-tool-judge');
  const stepPrompt = requirePrompt(prompts, 'curate-tool-step');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const call = { llm, signal, usage, p };
    const views = p.records.map((r) => toolView(r.data));
    const split = () => {
      log.info({ taskId: task.id, runId: task.run_id, items: p.records.length }, 'batch answer unusable; judging its examples one by one');
      return { datasetId: p.dataset_id, records: [], spawn: p.records.map((r, i) => curateToolJudgeTask.plan(`${task.key}/${i + 1}`, { ...p, records: [r] }, task.max_attempts)) };
    };
    const steps = p.turn_filter === undefined ? undefined : await rateSteps(call, stepPrompt, views);
    if (steps === undefined && p.turn_filter !== undefined) return split();
    const low = (i: number) => (steps?.[i] ?? []).findIndex((s) => s.rating < p.turn_filter!);
    const toScore = p.records.map((_, i) => i).filter((i) => low(i) < 0);
    const labels = toScore.map((i) => `e${i + 1}`);
    const answer = labels.length === 0
      ? { value: {}, model: undefined }
      : await unlessSplit(
          p.records.length,
          llm.structured({
            llm: p.llm,
            system: p.system_prompt ?? judgePrompt.system,
            prompt: render(judgePrompt.user, { n: labels.length, examples: toScore.map((i) => `[e${i + 1}]\n${toolJudgeText(views[i])}`).join('\n\n'), labels: labels.join(', ') }),
            schema: labelledSchema(ToolScore, labels),
            schemaName: 'tool_scores',
            signal,
            usage,
          }),
        );
    if (!answer) return split();
    const scores = new Map(toScore.map((i, n) => [i, byLabel<Static<typeof ToolScore>>(answer.value, labels)[n]]));
    const spawn = p.judged_dataset_id && p.mix ? [curateToolBalanceTask.plan(`balance/${task.key}`, { dataset_id: p.dataset_id, rejected_dataset_id: p.rejected_dataset_id, judged_dataset_id: p.judged_dataset_id, mix: p.mix })] : [];
    return {
      datasetId: p.dataset_id,
      spawn,
      records: p.records.map((r, i) => {
        const s = scores.get(i);
        const rating = s ? s.tool_selection + s.parameter_correctness + s.reasoning_quality + s.result_usefulness : undefined;
        const curation = { ...(s ? { rating, ...s, judge_model: answer.model } : {}), ...(steps ? { step_ratings: steps[i] } : {}), tools_used: views[i].toolsUsed };
        const bad = low(i);
        const rejection =
          bad >= 0
            ? { gate: 'turn_filter', reason: 'turn_filter', detail: `step ${bad + 1} rated ${steps![i][bad].rating} < ${p.turn_filter}` }
            : rating! < p.threshold
              ? { gate: 'rating', reason: 'below_threshold', detail: `rating ${rating} < threshold ${p.threshold}` }
              : undefined;
        if (rejection) return { key: r.key, data: { ...r.data, curation, rejection }, datasetId: p.rejected_dataset_id };
        return { key: r.key, data: { ...r.data, curation }, datasetId: p.judged_dataset_id };
      }),
    };
  };
});

/** The judged survivors, in insertion order (every one written by a judge task of this run, so an object). */
async function readAll(db: Parameters<typeof recordsPage>[0], datasetId: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for (let after = 0; ; ) {
    const page = await recordsPage(db, datasetId, after, 1000);
    if (page.length === 0) return out;
    after = page[page.length - 1].id;
    for (const r of page) if (isRecord(r.data)) out.push({ key: r.key, data: r.data });
  }
}

/**
 * The difficulty balance over every judged survivor. Each judge task's commit queues one of these;
 * all but the one that runs after the last judge commit find judge tasks unfinished and do nothing.
 * Two that both find none left write the same records under the same keys (a no-op the second time).
 */
export const curateToolBalanceTask = defineTask('curate.tool_balance', ToolBalancePayload, ({ database }) => async ({ task, payload: p }) => {
  if (await hasUnfinishedTasks(database.db, task.run_id, [curateToolJudgeTask.kind])) return { datasetId: p.dataset_id, records: [] };
  const judged = await readAll(database.db, p.judged_dataset_id);
  const { dropped, quota, warnings } = balanceDifficulty(
    judged.map((r) => ({ key: r.key, difficulty: DIFFICULTIES.find((d) => d === r.data.difficulty), rating: curationRating(r.data) })),
    p.mix,
  );
  return {
    datasetId: p.dataset_id,
    output: { difficulty_balance: { balanced: judged.length, kept_per_difficulty: quota, warnings } },
    records: judged.map((r) => {
      const why = dropped.get(r.key);
      return why === undefined
        ? r
        : { key: r.key, data: { ...r.data, rejection: { gate: 'difficulty_balance', reason: 'difficulty_balance', detail: why } }, datasetId: p.rejected_dataset_id };
    }),
  };
});
