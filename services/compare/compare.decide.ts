import { Type, type TSchema } from '@sinclair/typebox';
import { hasUnfinishedTasks } from '../../db/run-claims.repository.js';
import { claimRunStep } from '../../db/run-claims.repository.js';
import { findRunById } from '../../db/runs.repository.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import type { Usage } from '../../src/llm/usage.js';
import { render, requirePrompt, type PromptTemplate } from '../../src/prompts.js';
import { EMBED_TASK_KIND } from '../embeddings/embed.task.js';
import { defineTask } from '../jobs/task-kind.js';
import { byMetrics, byScore, explain, judgeReasons, metricReasons, type Compared } from './compare.decision.js';
import { diversitySampleSize, methodNote, semanticDiversity } from './compare.diversity.js';
import type { DatasetMetrics } from './compare.metrics.js';
import { DecidePayload, JUDGE_KIND, judgmentKey, METRICS_KIND, metricsKey } from './compare.payloads.js';

const PHASE_ONE = [EMBED_TASK_KIND, METRICS_KIND, JUDGE_KIND];
const ALTERNATIVES = ['merge', 'hybrid', 'filter', 'none'] as const;

const decisionSchemas = new Map<string, TSchema>();
/** The decision's answer: `winner` is one of the labels (an enum), so even a schema-only teacher names a dataset that exists. */
const makeDecisionSchema = (labels: string[]) =>
  Type.Object(
    {
      winner: Type.Union(labels.map((l) => Type.Literal(l))),
      reasoning: Type.String(),
      alternatives: Type.Array(Type.Object({ kind: Type.Union(ALTERNATIVES.map((k) => Type.Literal(k))), description: Type.String() }, { additionalProperties: false })),
    },
    { additionalProperties: false },
  );
function decisionSchema(labels: string[]): ReturnType<typeof makeDecisionSchema> {
  const key = JSON.stringify(labels);
  let schema = decisionSchemas.get(key);
  if (!schema) decisionSchemas.set(key, (schema = makeDecisionSchema(labels)));
  return schema as ReturnType<typeof makeDecisionSchema>;
}

type Judgment = NonNullable<Compared['judgment']> & { scores: Array<{ key: string; score: number; reason: string }>; model: string };

/** The figures the decision prompt shows of a dataset: the ranking ones, without histograms and word lists. */
function promptMetrics(c: Compared) {
  const m = c.metrics;
  return {
    count: m.count,
    question_chars_median: m.question_chars?.median ?? null,
    answer_chars_median: m.answer_chars?.median ?? null,
    answer_chars_p10: m.answer_chars?.p10 ?? null,
    rating_mean: m.ratings?.mean ?? null,
    distinct_sources: m.sources.distinct,
    question_type_diversity: m.question_types.diversity,
    top_first_words: m.question_types.top.slice(0, 5).map((w) => `${w.word} ${w.count}`).join(', '),
    duplicate_rate: m.duplicates.rate,
    semantic_diversity: c.semantic_diversity,
    topic_paths: m.topics?.distinct_paths ?? null,
  };
}

interface Ask { llm: LlmClient; prompt: PromptTemplate; p: DecidePayload; signal: AbortSignal; usage: Usage }

/** The decision call: the judge sees every dataset's figures and its sample's scores. */
async function askJudge({ llm, prompt, p, signal, usage }: Ask, compared: Compared[]) {
  const labels = compared.map((c) => c.label);
  const answer = await llm.structured({
    llm: p.llm,
    system: p.system_prompt ?? prompt.system,
    prompt: render(prompt.user, {
      labels: labels.map((l) => JSON.stringify(l)).join(', '),
      metrics: compared.map((c) => `${JSON.stringify(c.label)}: ${JSON.stringify(promptMetrics(c))}`).join('\n'),
      judgments: compared.map((c) => `${JSON.stringify(c.label)}: mean ${c.judgment?.mean_score}; strengths: ${c.judgment?.strengths.join('; ')}; weaknesses: ${c.judgment?.weaknesses.join('; ')}`).join('\n'),
    }),
    schema: decisionSchema(labels),
    schemaName: 'decision',
    signal,
    usage,
  });
  return { ...answer.value, model: answer.model };
}

/**
 * The finisher: every phase-1 task (embed, metrics, judge) queues one of these with its commit; the
 * one that finds none of them unfinished does the work, once (a check that finds the report
 * written does nothing). It adds each dataset's semantic diversity, asks the judge for the decision
 * (with `judge: false`, the metrics heuristic decides), and writes the report into the run's
 * output and a `compare.completed` event. A decision call that still fails on the task's last
 * attempt falls back to the highest mean judge score, and the report says so and why.
 */
export const compareDecideTask = defineTask('compare.decide', DecidePayload, (deps) => {
  const prompt = requirePrompt(deps.prompts, 'compare-decide');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const nothing = { datasetId: '', records: [] };
    if (await hasUnfinishedTasks(deps.database.db, task.run_id, PHASE_ONE)) return nothing;
    const run = await findRunById(deps.database.db, task.run_id);
    if (!run) throw new LlmError('api', `run ${task.run_id} is gone`, { fatal: true });
    const output = run.output as Record<string, unknown> & { report?: { decision?: unknown } };
    if (output.report?.decision) return nothing;
    // Two checks may both find nothing unfinished (the last phase-1 tasks committed together): one decides.
    if (!(await claimRunStep(deps.database.db, run.id, 'compare_decided_by', task.key))) return nothing;

    const figures = p.datasets.map((d, i) => {
      const metrics = output[metricsKey(i)] as DatasetMetrics | undefined;
      if (!metrics) throw new LlmError('api', `the figures of ${d.label} are missing from run ${run.id}`, { fatal: true });
      return metrics;
    });
    const sample = { size: diversitySampleSize(figures.map((m) => m.count)), seed: p.seed ?? 0 };
    const compared: Array<Compared & { judgment: Judgment | null }> = [];
    for (const [i, d] of p.datasets.entries()) {
      const judgment = (output[judgmentKey(i)] as Judgment | undefined) ?? null;
      const diversity = await semanticDiversity(deps, run.owner, d.id, p.method, sample, signal);
      compared.push({ label: d.label, dataset_id: d.id, metrics: figures[i], semantic_diversity: diversity.value, judgment });
    }
    const reasons = metricReasons(compared);
    const decision = await decide({ llm, prompt, p, signal, usage }, compared, reasons, task);
    if (decision.decided_by === 'fallback') log.warn({ runId: run.id, taskId: task.id, error: decision.error }, 'compare decision call failed; falling back to the highest judge score');
    const winner = compared.find((c) => c.label === decision.winner)!;
    const report = {
      datasets: compared.map((c) => ({ label: c.label, dataset_id: c.dataset_id, metrics: { ...c.metrics, semantic_diversity: c.semantic_diversity }, judgment: c.judgment })),
      embedding: methodNote(p.method),
      semantic_diversity_sample: sample.size,
      decision: { ...decision, winner_dataset_id: winner.dataset_id },
      metric_reasons: reasons,
      judge_reasons: judgeReasons(compared),
    };
    return { ...nothing, output: { report }, events: [{ type: 'compare.completed', data: report }] };
  };
});

type Decision =
  | { winner: string; decided_by: 'judge'; reasoning: string; alternatives: Array<{ kind: string; description: string }>; model: string }
  | { winner: string; decided_by: 'metrics' | 'fallback'; reasoning: string; alternatives: Array<{ kind: string; description: string }>; error?: { category: string; message: string } };

async function decide(ask: Ask, compared: Compared[], reasons: ReturnType<typeof metricReasons>, task: { attempts: number; max_attempts: number }): Promise<Decision> {
  if (!ask.p.judge) {
    const winner = byMetrics(compared, reasons);
    return { winner: winner.label, decided_by: 'metrics', reasoning: explain(winner, reasons, 'metrics'), alternatives: [] };
  }
  try {
    const answer = await askJudge(ask, compared);
    return { winner: answer.winner, decided_by: 'judge', reasoning: answer.reasoning, alternatives: answer.alternatives, model: answer.model };
  } catch (err) {
    if (!(err instanceof LlmError) || err.category === 'canceled' || ask.signal.aborted) throw err;
    // A retryable failure with attempts left goes back to the queue (the figures are computed again, the same).
    if (err.options.retryable && task.attempts < task.max_attempts) throw err;
    const winner = byScore(compared, reasons);
    return { winner: winner.label, decided_by: 'fallback', reasoning: explain(winner, reasons, 'fallback'), alternatives: [], error: { category: err.category, message: err.message } };
  }
}
