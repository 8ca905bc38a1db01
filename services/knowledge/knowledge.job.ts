import type { JobModule } from '../jobs/job-module.js';
import { knowledgeEstimates } from './knowledge.estimate.js';
import { knowledgeTasks } from './knowledge.tasks.js';

/**
 * The knowledge-tuning flows. Their runs are generate runs (`task: knowledge`, planned by
 * planKnowledge and reported by the generate module), so this module only brings its task kinds.
 */
export const knowledgeJob: JobModule = {
  tasks: knowledgeTasks,
  estimates: knowledgeEstimates,
};
