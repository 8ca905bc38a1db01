import type { NewTask } from '../../db/runs.repository.js';
import { AppError } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import { pacer } from '../../src/pacer.js';
import { checkDatasetSize, checkPlanBytes, checkTaskCount } from '../limits.js';
import { readRecords } from '../datasets/read-records.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import type { GenerateSpec } from '../generate/generate.spec.js';
import type { RunPlan } from '../runs/runs.service.js';
import { KNOWLEDGE_FLOWS, type KnowledgeFlow, type SeedRecord } from './knowledge.spec.js';
import { keyFactsTask, qaTask, summarizeTask } from './knowledge.tasks.js';

const MAX_SEEDS = 10_000;
const FIRST_TASK = {
  extractive_summary: summarizeTask,
  detailed_summary: summarizeTask,
  key_facts: keyFactsTask,
  document_qa: qaTask,
};

/**
 * Plans the knowledge flows: one first task per seed and flow (summaries, key facts, or document
 * Q&A), which spawn the rest as they go. One output dataset per flow, plus a rejected set for the
 * answers the faithfulness judge says NO to.
 */
export async function planKnowledge(deps: Pick<JobDeps, 'database'>, input: PlanInput<GenerateSpec>) {
  const { spec } = input;
  if (!spec.seed_records) await checkDatasetSize(deps.database.db, input.owner, spec.dataset_id, MAX_SEEDS);
  const seeds: SeedRecord[] = spec.seed_records ?? (await readRecords(deps.database, input.owner, spec.dataset_id!, MAX_SEEDS)).records.map((r) => r.data as SeedRecord);
  const bad = seeds.findIndex((s) => typeof s.document !== 'string' || s.document.trim() === '');
  if (bad >= 0) {
    const field = spec.seed_records ? `seed_records.${bad}.document` : 'dataset_id';
    throw new AppError('validation_failed', `${field}: seed record ${bad} has no document`, [{ field, message: 'every seed record needs a non-empty document' }]);
  }
  const flows = spec.flows ?? [...KNOWLEDGE_FLOWS];
  checkKnowledgeSize(spec, flows, seeds);
  const datasetIds = Object.fromEntries(flows.map((f) => [f, newId('ds')])) as Record<KnowledgeFlow, string>;
  const rejectedId = newId('ds');
  const name = spec.dataset_name ?? 'knowledge';
  const tasks: NewTask[] = [];
  const pace = pacer();
  for (const [i, seed] of seeds.entries()) {
    for (const flow of flows) {
      const payload = {
        flow,
        flow_dataset_id: datasetIds[flow],
        rejected_dataset_id: rejectedId,
        seed,
        llm: spec.llm ?? {},
        summaries: spec.summaries_per_document ?? 3,
        questions: spec.questions_per_context ?? 3,
        facts: spec.facts_per_document ?? 10,
        pairs_per_fact: spec.pairs_per_fact ?? 5,
        summaries_per_call: spec.summaries_per_call ?? 1,
        judge_against: spec.judge_against ?? 'context',
        judge_key_facts: spec.judge_key_facts ?? false,
      };
      tasks.push(FIRST_TASK[flow].plan(`${flow}/s${i}`, payload, spec.max_attempts));
    }
    await pace();
  }
  const [first, ...rest] = flows;
  const stored = spec.seed_records ? { ...spec, seed_records: undefined, seed_count: seeds.length } : spec;
  return {
    kind: 'generate',
    spec: { task: 'knowledge', ...stored, flows },
    requestHash: hashOf(spec),
    tasks,
    dataset: { id: datasetIds[first], name: `${name}: ${first}`, meta: { kind: first, source_run_kind: 'generate' } },
    extraDatasets: [
      ...rest.map((flow) => ({ id: datasetIds[flow], name: `${name}: ${flow}`, meta: { kind: flow, source_run_kind: 'generate' } })),
      { id: rejectedId, name: `${name} (unfaithful, rejected)`, meta: { kind: 'rejected', source_run_kind: 'generate' }, output: 'rejected_dataset_id' },
    ],
    output: { datasets: datasetIds },
    report: { seeds: seeds.length, flows },
  };
}

/**
 * Every task the flows will run, counted before the first is queued: per seed, a summary flow runs
 * one task plus one per summary, key facts one plus one per fact, document Q&A one. Each carries
 * its seed, so the seeds' size times their tasks is what the queue will hold.
 */
function checkKnowledgeSize(spec: GenerateSpec, flows: KnowledgeFlow[], seeds: SeedRecord[]) {
  const perFlow: Record<KnowledgeFlow, number> = {
    extractive_summary: 1 + (spec.summaries_per_document ?? 3),
    detailed_summary: 1 + (spec.summaries_per_document ?? 3),
    key_facts: 1 + (spec.facts_per_document ?? 10),
    document_qa: 1,
  };
  const perSeed = flows.reduce((sum, f) => sum + perFlow[f], 0);
  const field = flows.some((f) => f.endsWith('_summary')) && (spec.summaries_per_document ?? 3) >= (spec.facts_per_document ?? 10) ? 'summaries_per_document' : flows.includes('key_facts') ? 'facts_per_document' : spec.seed_records ? 'seed_records' : 'dataset_id';
  checkTaskCount(seeds.length * perSeed, field, `${seeds.length} seed documents × ${perSeed} tasks each across the flows`);
  const seedBytes = seeds.reduce((sum, s) => sum + JSON.stringify(s).length, 0);
  checkPlanBytes(seedBytes * perSeed, field, 'each task carries its seed document: fewer or shorter seeds, or fewer summaries or facts');
}
