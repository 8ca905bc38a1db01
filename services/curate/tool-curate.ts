import type { NewTask } from '../../db/runs.repository.js';
import { AppError } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import { pacer } from '../../src/pacer.js';
import { checkPlanBytes, LIMITS, sharedBytes } from '../limits.js';
import type { PlanInput } from '../jobs/job-deps.js';
import type { RunPlan } from '../runs/runs.service.js';
import { DIFFICULTIES } from '../tools/tool-example.js';
import type { CurateSpec } from './curate.spec.js';
import { curatePassTask } from './curate.task.js';
import { findDuplicatesPaced } from './dedup.js';
import { balanceDifficulty, DEFAULT_MIX, type DifficultyMix } from './tool-balance.js';
import { curateToolJudgeTask } from './tool-curate.task.js';
import { failedVerification, toolView } from './tool-records.js';

type Rec = { key: string; data: Record<string, unknown> };
const PASS_BATCH = 500;
export const DEFAULT_MIN_PER_TOOL = 10;
/** ToolMind's keep rule: every step at least 0.7. */
export const DEFAULT_TURN_THRESHOLD = 0.7;

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/** Names of the tools a record offers (`tools[].function.name`). */
function offered(data: Record<string, unknown>): string[] {
  if (!Array.isArray(data.tools)) return [];
  return data.tools.flatMap((t) => (typeof t === 'object' && t !== null && 'function' in t && typeof t.function === 'object' && t.function !== null && 'name' in t.function && typeof t.function.name === 'string' ? [t.function.name] : []));
}

function checkMix(mix: DifficultyMix): void {
  const sum = DIFFICULTIES.reduce((s, d) => s + mix[d], 0);
  if (Math.abs(sum - 1) > 0.001) throw invalid('difficulty_mix', `the shares add up to ${Math.round(sum * 1000) / 1000}; they must add up to 1`);
}

/**
 * Plans the curation of tool-use records (Generator's `tool-curate` gates, in its order): examples
 * whose verification failed and duplicate instructions are rejected here, without a teacher; the
 * rest go to judge tasks (turn filter when on, then the rubric), whose survivors are balanced to the
 * difficulty mix once all are judged (tool-curate.task.ts). With `judge: false` the balance is done
 * here, keeping records by their own `rating` if they have one.
 */
export async function planToolCurate(input: PlanInput<CurateSpec>, source: { dataset?: { name: string }; records: Rec[] }): Promise<RunPlan> {
  const { spec } = input;
  const mix = spec.difficulty_mix ?? DEFAULT_MIX;
  checkMix(mix);
  if (spec.judge === false && spec.turn_filter) throw invalid('turn_filter', 'the turn filter rates steps with the teacher; it needs judge: true');
  const turnThreshold = spec.turn_filter ? (spec.turn_filter.threshold ?? DEFAULT_TURN_THRESHOLD) : undefined;
  const views = new Map(source.records.map((r) => [r.key, toolView(r.data)]));
  if (spec.turn_filter) {
    const long = source.records.find((r) => views.get(r.key)!.steps.length > LIMITS.curateToolSteps);
    if (long) throw invalid('turn_filter', `record ${long.key} has ${views.get(long.key)!.steps.length} steps; the turn filter rates at most ${LIMITS.curateToolSteps} per example`);
  }
  const rejectedId = newId('ds');
  const rejected: Rec[] = [];
  const verified: Rec[] = [];
  for (const r of source.records) {
    const failed = failedVerification(r.data);
    if (failed) rejected.push({ key: r.key, data: { ...r.data, rejection: { gate: 'verification', reason: 'verification_failed', detail: `${failed.stage}: ${failed.reason}` } } });
    else verified.push(r);
  }
  // Deduplication compares instructions only: each record is seen by dedup.ts as a question without an answer.
  const dedup = spec.dedup ?? { exact: true };
  const asQuestions = verified.map((r) => ({ key: r.key, data: { question: views.get(r.key)!.instruction, answer: '' } }));
  const duplicates = new Map((await findDuplicatesPaced(asQuestions, dedup, pacer())).map((d) => [d.key, d]));
  for (const r of verified) {
    const d = duplicates.get(r.key);
    if (d) rejected.push({ key: r.key, data: { ...r.data, rejection: { gate: 'dedup', reason: d.reason, duplicate_of: d.duplicate_of, ...(d.similarity !== undefined ? { similarity: d.similarity } : {}) } } });
  }
  const survivors = verified.filter((r) => !duplicates.has(r.key));
  const tasks: NewTask[] = [];
  const pass = (prefix: string, records: Rec[], target?: string) => {
    for (let i = 0; i < records.length; i += PASS_BATCH) tasks.push(curatePassTask.plan(`${prefix}${i / PASS_BATCH}`, { ...(target ? { target_dataset_id: target } : {}), records: records.slice(i, i + PASS_BATCH) }));
  };
  const balanced = survivors.some((r) => views.get(r.key)!.difficulty !== undefined);
  const judgedId = balanced && spec.judge !== false ? newId('ds') : undefined;
  const threshold = spec.threshold ?? 7;
  let balance: Record<string, unknown> | undefined;
  if (spec.judge === false) {
    const { dropped, quota, warnings } = balanceDifficulty(
      survivors.map((r) => ({ key: r.key, difficulty: views.get(r.key)!.difficulty, rating: typeof r.data.rating === 'number' ? r.data.rating : undefined })),
      mix,
    );
    const curated = survivors.map((r) => ({ key: r.key, data: { ...r.data, curation: { tools_used: views.get(r.key)!.toolsUsed } } }));
    rejected.push(...curated.filter((r) => dropped.has(r.key)).map((r) => ({ key: r.key, data: { ...r.data, rejection: { gate: 'difficulty_balance', reason: 'difficulty_balance', detail: dropped.get(r.key)! } } })));
    pass('keep', curated.filter((r) => !dropped.has(r.key)));
    balance = { balanced: survivors.length, kept_per_difficulty: quota, warnings };
  } else {
    const batchSize = spec.batch_size ?? 5;
    const shared = { threshold, turn_filter: turnThreshold, llm: spec.llm ?? {}, system_prompt: spec.system_prompt, mix };
    checkPlanBytes(Math.ceil(survivors.length / batchSize) * sharedBytes(shared), 'batch_size', 'every batch carries the system_prompt: raise batch_size or shorten it');
    for (let i = 0; i < survivors.length; i += batchSize) {
      const payload = { rejected_dataset_id: rejectedId, ...shared, mix: judgedId ? mix : undefined, judged_dataset_id: judgedId, records: survivors.slice(i, i + batchSize) };
      tasks.push(curateToolJudgeTask.plan(`t${i / batchSize}`, payload, spec.max_attempts));
    }
  }
  pass('rej', rejected, rejectedId);

  const name = spec.dataset_name ?? `curated ${source.dataset?.name ?? 'tool-use records'}`;
  const stored = spec.records ? { ...spec, records: undefined, record_count: spec.records.length } : spec;
  const difficultyIn = Object.fromEntries([...DIFFICULTIES, 'unknown'].map((d) => [d, 0]));
  for (const v of views.values()) difficultyIn[v.difficulty ?? 'unknown']++;
  const tools = new Set(source.records.flatMap((r) => [...offered(r.data), ...views.get(r.key)!.toolsUsed]));
  return {
    kind: 'curate',
    spec: { threshold: spec.judge === false ? undefined : threshold, ...stored },
    requestHash: hashOf(spec),
    tasks,
    dataset: { name, meta: { kind: 'curated', source_run_kind: 'curate', ...(spec.dataset_id ? { source_dataset_id: spec.dataset_id } : {}) } },
    extraDatasets: [
      { id: rejectedId, name: `${name} (rejected)`, meta: { kind: 'rejected', source_run_kind: 'curate' }, output: 'rejected_dataset_id' },
      ...(judgedId ? [{ id: judgedId, name: `${name} (judged, before the difficulty balance)`, meta: { kind: 'staging', source_run_kind: 'curate' }, output: 'judged_dataset_id' }] : []),
    ],
    // With judge: false the balance is decided now; otherwise the balance task adds it to the output.
    ...(balance ? { output: { difficulty_balance: balance } } : {}),
    report: {
      tool_use: true,
      records_in: source.records.length,
      verification_failed: source.records.length - verified.length,
      duplicates: { exact: [...duplicates.values()].filter((d) => d.reason === 'exact_duplicate').length, near: [...duplicates.values()].filter((d) => d.reason === 'near_duplicate').length },
      to_judge: spec.judge === false ? 0 : survivors.length,
      turn_filter: turnThreshold === undefined ? false : { threshold: turnThreshold },
      difficulty_mix: mix,
      difficulty_in: difficultyIn,
      min_per_tool: spec.min_per_tool ?? DEFAULT_MIN_PER_TOOL,
      tools: [...tools].sort(),
    },
  };
}
