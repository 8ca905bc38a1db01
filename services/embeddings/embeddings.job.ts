import { est } from '../jobs/dry-run.js';
import type { JobModule } from '../jobs/job-module.js';
import { EMBED_CALL_INPUTS, EMBED_TASK_KIND, embedTask } from './embed.task.js';

/**
 * Embedding is no job of its own: select, compare and curate's semantic dedup plan `embed.batch`
 * tasks (planEmbedTasks) in their runs. The module gives the worker its handler and a dry run its
 * cost: a call per EMBED_CALL_INPUTS records and the records' text, as if nothing were stored yet
 * (texts embedded before cost nothing: an upper bound).
 */
export const embeddingsModule: JobModule = {
  tasks: [embedTask],
  estimates: {
    [EMBED_TASK_KIND]: (p) => {
      const records = est.int(p.records, 0);
      const provider = est.field(p.method, 'provider');
      return { calls: Math.ceil(records / EMBED_CALL_INPUTS), inputChars: est.int(p.chars, 0), outputTokens: 0, embedding: true, ...(typeof provider === 'string' ? { provider } : {}) };
    },
  },
};
