import { LEASES_DOC } from '../generate/generate.examples.js';
import type { RequestExample } from '../jobs/job-module.js';

/** The JSON requests the contract shows for POST /v1/pipelines. */
export const pipelineExamples: Record<string, RequestExample> = {
  documents: {
    summary: 'generate → enrich → curate → export (Alpaca)',
    value: {
      name: 'leases-sft',
      generate: { documents: [LEASES_DOC], n_pairs: 2 },
      enrich: { mode: 'rewrite', batch_size: 4 },
      curate: { threshold: 5, dedup: { exact: true } },
      export: { format: 'alpaca' },
    },
  },
  tools: {
    summary: 'topics → tools (DeepFabric-style file tools on the in-memory VFS) → curate → export (OpenAI)',
    value: {
      topics: { prompt: 'Maintaining a small Python web service', degree: 2, depth: 1 },
      tools: {
        execution: { mode: 'vfs', files: [{ path: 'main.py', content: 'print("hello")\n' }, { path: 'requirements.txt', content: 'fastapi\n' }] },
        target_examples: 4,
        min_per_tool: 1,
        max_calls: 3,
        semantic_check: { threshold: 0 },
      },
      curate: { threshold: 0 },
      export: { format: 'openai' },
    },
  },
  topics: {
    summary: 'topics → conversations → export (messages)',
    value: {
      topics: { prompt: 'Python programming fundamentals', degree: 2, depth: 2 },
      generate: { task: 'conversation', num_samples: 4, turns: 2 },
      export: { format: 'messages', system_prompt: 'You are a helpful Python tutor.' },
    },
  },
};

/** A DeepFabric config (v4 layout), the application/yaml request the contract shows. */
export const deepfabricExamples: Record<string, RequestExample> = {
  deepfabric: {
    summary: 'A DeepFabric config, run as it is',
    value: [
      '# llm.provider may name a configured teacher; without it the default one runs.',
      'llm:',
      '  temperature: 0.7',
      'topics:',
      '  prompt: "Python programming fundamentals"',
      '  mode: tree',
      '  depth: 2',
      '  degree: 2',
      'generation:',
      '  system_prompt: "Generate clear, educational conversations."',
      '  instructions: "Include working code."',
      '  conversation:',
      '    type: basic',
      'output:',
      '  system_prompt: "You are a helpful Python tutor."',
      '  num_samples: 4',
      '  batch_size: 2',
      '',
    ].join('\n'),
  },
};
