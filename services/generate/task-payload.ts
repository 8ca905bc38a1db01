import { Type, type Static } from '@sinclair/typebox';
import { LlmSettings } from '../jobs/job-options.js';

/** A passage to generate from, as a task carries it. */
export const ChunkRef = Type.Object({
  chunk_id: Type.String(),
  content: Type.String(),
  source: Type.String(),
  section_path: Type.Array(Type.String()),
  /** Set for chunks of source code (LanceDB code tables): they get the code prompt. */
  code: Type.Optional(Type.Object({ language: Type.Optional(Type.String()), symbol: Type.Optional(Type.String()) })),
});
export type ChunkRef = Static<typeof ChunkRef>;

/** What steers the teacher, shared by every generation task. */
const generationOptions = {
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  language: Type.Optional(Type.String()),
  seed_examples: Type.Optional(Type.Array(Type.String())),
};
export const GenerationOptions = Type.Object(generationOptions);
export type GenerationOptions = Static<typeof GenerationOptions>;

/** generate.qa, generate.cot and generate.conversation: one chunk each. */
export const GenerateTaskPayload = Type.Object({
  ...generationOptions,
  dataset_id: Type.String(),
  chunk: ChunkRef,
  /** Items to ask for (pairs for qa and cot; unused by conversation). */
  pairs: Type.Integer({ minimum: 1 }),
  /** conversation only */
  turns: Type.Optional(Type.Integer({ minimum: 1 })),
  answers: Type.Optional(Type.Boolean()),
  /** qa and cot: pairs not about this topic go to the rejected dataset. */
  topic: Type.Optional(Type.String()),
  rejected_dataset_id: Type.Optional(Type.String()),
});
export type GenerateTaskPayload = Static<typeof GenerateTaskPayload>;

/** generate.topic_sample: one sample from one topic path. */
export const TopicSamplePayload = Type.Object({
  dataset_id: Type.String(),
  task: Type.Union([Type.Literal('qa'), Type.Literal('cot'), Type.Literal('conversation')]),
  topic_path: Type.Array(Type.String()),
  /** Which pass over the topics this sample belongs to (samples cycle over them). */
  cycle: Type.Integer({ minimum: 0 }),
  turns: Type.Integer({ minimum: 1 }),
  conversation: Type.Object({
    type: Type.Union([Type.Literal('basic'), Type.Literal('cot')]),
    reasoning_style: Type.Union([Type.Literal('freetext'), Type.Literal('structured')]),
  }),
  instructions: Type.Optional(Type.String()),
  system_prompt: Type.Optional(Type.String()),
  /** The system message a conversation starts with, when include_system_message. */
  dataset_system_prompt: Type.Optional(Type.String()),
  include_system_message: Type.Boolean(),
  llm: LlmSettings,
});
export type TopicSamplePayload = Static<typeof TopicSamplePayload>;
