import type { LlmSettings } from './generate.spec.js';

/** A passage to generate from, as a task carries it. */
export interface ChunkRef {
  chunk_id: string;
  content: string;
  source: string;
  section_path: string[];
  /** Set for chunks of source code (LanceDB code tables): they get the code prompt. */
  code?: { language?: string; symbol?: string };
}

/** What steers the teacher, shared by every generation task. */
export interface GenerationOptions {
  llm: LlmSettings;
  system_prompt?: string;
  language?: string;
  seed_examples?: string[];
}

export interface GenerateTaskPayload extends GenerationOptions {
  dataset_id: string;
  chunk: ChunkRef;
  /** Items to ask for (pairs for qa and cot; unused by conversation). */
  pairs: number;
  /** conversation only */
  turns?: number;
  answers?: boolean;
  /** qa and cot: pairs not about this topic go to the rejected dataset. */
  topic?: string;
  rejected_dataset_id?: string;
}
