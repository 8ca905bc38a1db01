import type { RequestExample } from '../jobs/job-module.js';

/** A short markdown document the examples generate from (two sections, each a chunk). */
export const LEASES_DOC = {
  name: 'leases.md',
  text:
    '# Task leases\n\n' +
    'A worker that claims a task holds a lease on it for a fixed time, thirty seconds by default. While the lease holds, ' +
    'no other worker can claim the task, so a task is never worked on twice at once. The lease is a timestamp on the task row.\n\n' +
    '## Heartbeats\n\n' +
    'A worker that needs longer than its lease extends it with a heartbeat every few seconds. A worker that stops heartbeating, ' +
    'because it crashed or lost its network, loses the lease when it runs out, and the task goes back to the queue for another worker.\n',
};

/** The requests the contract shows for POST /v1/generate, one per task and source kind that needs no prior state. */
export const generateExamples: Record<string, RequestExample> = {
  qa: {
    summary: 'QA pairs from a markdown document',
    value: { documents: [LEASES_DOC], n_pairs: 2, llm: { temperature: 0.7 } },
  },
  cot: {
    summary: 'Chain-of-thought examples',
    value: { task: 'cot', documents: [LEASES_DOC], n_pairs: 1 },
  },
  conversation: {
    summary: 'Multi-turn conversations, one per chunk',
    value: { task: 'conversation', documents: [LEASES_DOC], turns: 3 },
  },
  topics: {
    summary: 'QA pairs from topic paths given inline',
    value: { topics: [['Postgres', 'Indexes', 'BRIN'], ['Postgres', 'Vacuum', 'Autovacuum tuning']], num_samples: 2 },
  },
  knowledge: {
    summary: 'Knowledge-tuning flows from a seed record',
    value: {
      task: 'knowledge',
      flows: ['extractive_summary', 'document_qa'],
      summaries_per_document: 2,
      questions_per_context: 2,
      seed_records: [
        {
          document: LEASES_DOC.text,
          document_outline: 'Task leases and heartbeats',
          domain: 'distributed systems',
          icl_document: 'A mutex lets one thread at a time into a critical section; the others wait until it is released.',
          icl_query_1: 'What does a mutex protect?',
          icl_query_2: 'What happens to the other threads while one holds the mutex?',
          icl_query_3: 'When may a waiting thread enter?',
        },
      ],
    },
  },
};
