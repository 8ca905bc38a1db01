import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { topicsEstimates } from './topics.estimate.js';
import { TopicsSpec } from './topics.spec.js';
import { planTopics } from './topics.service.js';
import { expandTask } from './topics.task.js';

/** Topic trees and graphs: one expansion task per node, each queuing its children's. */
export const topicsJob: JobModule = {
  runKind: 'topics',
  endpoint: endpoint({
    path: '/v1/topics',
    operationId: 'createTopicsRun',
    summary: 'Build a topic tree or graph from one prompt',
    description:
      'Each node asks the teacher for `degree` subtopics (extras cut), children expanded concurrently, down to `depth`: a tree has degree^depth ' +
      'root → leaf paths. In a graph the teacher may link a new node to existing ones (it is shown the existing topics most related to the one ' +
      'it expands), giving it several parents. A node whose expansion fails after retries is reported in the run and in a record.failed event. ' +
      'The result is GET /v1/topics/{output.topics_id}.',
    body: TopicsSpec,
    examples: {
      'application/json': {
        tree: { summary: 'A topic tree: 3 subtopics per node, 2 levels (9 paths)', value: { prompt: 'Running Postgres in production', degree: 3, depth: 2 } },
        graph: { summary: 'A topic graph: nodes may have several parents', value: { prompt: 'Kubernetes operations', mode: 'graph', degree: 2, depth: 2 } },
      },
    },
    plan: (deps, input) => planTopics(deps, input),
  }),
  tasks: [expandTask],
  estimates: topicsEstimates,
  stage: {
    name: 'topics',
    plan(deps, stage) {
      if (!stage.pipeline.topics) throw new Error('the pipeline has no topics stage');
      return planTopics(deps, { owner: stage.owner, spec: stage.pipeline.topics });
    },
  },
};
