import type { RequestExample } from '../jobs/job-module.js';

const records = [
  { question: 'What is a task lease?', answer: 'A time-limited claim on a task: while it holds, no other worker can take the task.' },
  { question: 'What is a lease on a task?', answer: 'A claim on a task for a limited time; while it holds, no other worker takes the task.' },
  { question: 'Why do workers send heartbeats?', answer: 'To extend their lease while a task takes longer than the lease, so it is not handed to another worker.' },
  { question: 'How does SKIP LOCKED help a queue?', answer: 'Workers claiming tasks skip rows another transaction has locked, so they never wait on each other.' },
  { question: 'What does an idempotency key do?', answer: 'It makes a repeated request return the first result instead of doing the work twice.' },
];

/** The request bodies the contract shows for POST /v1/select (tests/openapi.examples.test.ts runs each). */
export const selectExamples: Record<string, RequestExample> = {
  deita: {
    summary: 'DEITA: the 3 best by combined score, skipping near-paraphrases (teacher-scored)',
    value: { strategy: 'deita', target: 3, threshold: 0.9, weights: { complexity: 0.3, quality: 0.5, diversity: 0.2 }, embedding: 'lexical', records },
  },
  coverage: {
    summary: 'TOUCAN coverage: k-means over embeddings, 2 records from every cluster’s centre (no teacher)',
    value: { strategy: 'coverage', target: 2, pick: 'centroid', embedding: 'lexical', records },
  },
  top_k: {
    summary: 'The 2 most complex records, scored by the heuristic (no teacher)',
    value: { strategy: 'top_k', target: 2, score_by: 'complexity', judge: false, embedding: 'lexical', records },
  },
};
