import { Type } from '@sinclair/typebox';
import { findDataset, recordsPage } from '../../db/datasets.repository.js';
import { findRunById } from '../../db/runs.repository.js';
import { byLabel, itemLabels, labelledSchema } from '../../src/llm/aligned.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { judgeable, judgeText } from '../curate/record-text.js';
import { defineTask } from '../jobs/task-kind.js';
import { questionAnswer } from './compare.fields.js';
import { MetricsAccumulator, SeededSample } from './compare.metrics.js';
import { DecidePayload, JUDGE_KIND, JudgePayload, judgmentKey, METRICS_KIND, metricsKey, MetricsPayload } from './compare.payloads.js';
import { compareDecideTask } from './compare.decide.js';

const PAGE = 1000;
/** Characters of one record the judge is shown; a longer one is cut, and the cut is marked. */
const ITEM_CHARS = 4_000;

/** The finisher check every phase-1 task queues with its commit (services/compare/compare.decide.ts). */
const check = (spawner: string, finish: DecidePayload) => compareDecideTask.plan(`${compareDecideTask.kind}/${spawner}`, finish);

/**
 * One dataset's figures: pages through its records 1,000 at a time (so a 1,000,000-record dataset
 * is never held), feeding the accumulator and the seeded sample. Queues the judge of the sample
 * (unless judging is off) and a finisher check; the figures go to the run's output under the
 * dataset's index.
 */
export const compareMetricsTask = defineTask(METRICS_KIND, MetricsPayload, ({ database }) => async ({ task, signal, payload: p }) => {
  const run = await findRunById(database.db, task.run_id);
  if (!run || !(await findDataset(database.db, p.dataset.id, run.owner))) {
    throw new LlmError('api', `dataset ${p.dataset.id} (${p.dataset.label}) no longer exists; the comparison cannot finish`, { fatal: true });
  }
  const metrics = new MetricsAccumulator({ near: p.near, expected: p.expected });
  const sample = new SeededSample(p.seed, p.sample_size);
  for (let after = 0; ; ) {
    if (signal.aborted) throw new LlmError('canceled', 'aborted');
    const page = await recordsPage(database.db, p.dataset.id, after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    for (const r of page) {
      const data = r.data as Record<string, unknown>;
      metrics.add(r.key, data);
      sample.offer(r.key, data);
    }
    // Embedded PGlite answers without I/O: give the event loop (and the lease heartbeat) a turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const figures = metrics.finish();
  const records = sample.records();
  const judge = p.finish.judge && records.length > 0 ? [compareJudgeTask.plan(`judge/${p.index}`, { index: p.index, dataset: p.dataset, records, finish: p.finish }, p.max_attempts)] : [];
  return {
    datasetId: '',
    records: [],
    output: { [metricsKey(p.index)]: { ...figures, sampled: records.map((r) => r.key) } },
    events: [{ type: 'compare.metrics', data: { dataset_id: p.dataset.id, label: p.dataset.label, count: figures.count } }],
    spawn: [...judge, check(task.key, p.finish)],
  };
});

/** The judge's answer for one record, under its label (`s1`, `s2`, …). */
const ItemScore = Type.Object({ score: Type.Integer({ minimum: 1, maximum: 10 }), reason: Type.String() });
const makeJudgeSchema = (labels: string[]) =>
  Type.Object({ scores: labelledSchema(ItemScore, labels), strengths: Type.Array(Type.String()), weaknesses: Type.Array(Type.String()) }, { additionalProperties: false });
const judgeSchemas = new Map<number, ReturnType<typeof makeJudgeSchema>>();

/** The answer schema for `n` records (memoised): labelled scores, so a schema-only teacher cannot misalign them, and the dataset's strengths and weaknesses. */
function judgeSchema(labels: string[]) {
  let schema = judgeSchemas.get(labels.length);
  if (!schema) judgeSchemas.set(labels.length, (schema = makeJudgeSchema(labels)));
  return schema;
}

/** The record as the judge reads it: as curate's judge does for QA, CoT and chats; other chat shapes by question and answer. */
function itemText(data: Record<string, unknown>): string {
  const qa = questionAnswer(data);
  const text = judgeable(data) ? judgeText(data) : `Question: ${qa?.question ?? ''}\nAnswer: ${qa?.answer ?? ''}`;
  return text.length > ITEM_CHARS ? `${text.slice(0, ITEM_CHARS)} […cut at ${ITEM_CHARS} characters]` : text;
}

const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000;
const short = (xs: string[]) => xs.map((s) => s.trim()).filter((s) => s).slice(0, 5);

/**
 * Judges one dataset's seeded sample in one call: a 1–10 score per record, read by label, and the
 * dataset's strengths and weaknesses. An answer that never validates fails the task like any
 * teacher failure (and is retried); it never counts as a score of 0, as the seed's parse failure did.
 */
export const compareJudgeTask = defineTask(JUDGE_KIND, JudgePayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'compare-judge');
  return async ({ task, llm, signal, usage, payload: p }) => {
    const labels = itemLabels('s', p.records.length);
    const answer = await llm.structured({
      llm: p.finish.llm,
      system: p.finish.system_prompt ?? prompt.system,
      prompt: render(prompt.user, {
        label: p.dataset.label,
        n: p.records.length,
        examples: p.records.map((r, i) => `[${labels[i]}]\n${itemText(r.data)}`).join('\n\n'),
        labels: labels.join(', '),
      }),
      schema: judgeSchema(labels),
      schemaName: 'sample_scores',
      signal,
      usage,
    });
    const scores = byLabel(answer.value.scores, labels).map((s, i) => ({ key: p.records[i].key, score: s.score, reason: s.reason }));
    const judgment = {
      model: answer.model,
      prompt: { id: prompt.id, version: prompt.version },
      mean_score: mean(scores.map((s) => s.score)),
      scores,
      strengths: short(answer.value.strengths),
      weaknesses: short(answer.value.weaknesses),
    };
    return { datasetId: '', records: [], output: { [judgmentKey(p.index)]: judgment }, spawn: [check(task.key, p.finish)] };
  };
});
