import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { knowledgeReport } from '../knowledge/knowledge.report.js';
import { rejectedReport } from '../runs/runs.service.js';
import { conversationTask } from './conversation.task.js';
import { cotTask } from './cot.task.js';
import { generateEstimates } from './generate.estimate.js';
import { generateExamples } from './generate.examples.js';
import { planGenerateRun } from './generate.service.js';
import { GenerateSpec } from './generate.spec.js';
import { qaTask } from './qa.task.js';
import { topicFilterTask } from './topic-filter.js';
import { topicSampleTask } from './topic-sample.task.js';

const generateSpec = TypeCompiler.Compile(GenerateSpec);
const isKnowledge = (spec: unknown) => typeof spec === 'object' && spec !== null && 'task' in spec && spec.task === 'knowledge';

/** Generation from documents, LanceDB tables, datasets or topics; `task: knowledge` runs the knowledge module's flows. */
export const generateJob: JobModule = {
  runKind: 'generate',
  endpoint: endpoint({
    path: '/v1/generate',
    operationId: 'createGenerateRun',
    summary: 'Generate training data from documents, LanceDB chunk tables, datasets or seed records',
    description:
      'task qa (instruction backtranslation, default), cot, conversation or knowledge. Markdown documents are split on their headers ' +
      '(header_levels, default H1–H3): short sections merge with their neighbours, long ones are cut at block, paragraph or sentence breaks ' +
      'with overlap, fenced code is never cut and badge or image rows are left out; each chunk is an answer source for the teacher; ' +
      'the records go to a new dataset. "dry_run": true answers the chunks and the estimated cost instead.',
    body: GenerateSpec,
    examples: { 'application/json': generateExamples },
    plan: (deps, input) => planGenerateRun(deps, input),
  }),
  tasks: [qaTask, cotTask, conversationTask, topicSampleTask, topicFilterTask],
  estimates: generateEstimates,
  report: (deps, run) => (isKnowledge(run.spec) ? knowledgeReport(deps.database, run.output as { datasets?: Record<string, string>; rejected_dataset_id?: string }) : rejectedReport(deps, run)),
  stage: {
    name: 'generate',
    plan(deps, stage) {
      const spec = stage.carried ?? stage.pipeline.generate;
      if (!generateSpec.Check(spec)) throw new Error('the pipeline has no generate stage this version can read');
      const topicsId = stage.previous?.topics_id;
      return planGenerateRun(deps, { owner: stage.owner, spec: topicsId ? { ...spec, topics_id: topicsId } : spec });
    },
  },
};
