import { Type, type Static } from '@sinclair/typebox';
import { DiscriminatedUnion } from '../../src/discriminated-union.js';
import { knowledgeFields } from '../knowledge/knowledge.spec.js';
import { LIMITS } from '../limits.js';
import { dryRun, jobOptions, LlmSettings } from '../jobs/job-options.js';

export { jobOptions, LlmSettings };

export const MarkdownDocument = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: 'File name or title; its stem prefixes chunk ids' }),
    text: Type.String({ minLength: 1, description: 'Markdown text' }),
  },
  { additionalProperties: false },
);

/** Where chunks or topics come from: exactly one of these (the variant's `oneOf`). */
const sources = {
  documents: Type.Optional(Type.Array(MarkdownDocument, { minItems: 1, maxItems: 10_000, description: 'Source: markdown documents, split into chunks on their headers (header_levels, default H1–H3)' })),
  lancedb: Type.Optional(
    Type.Object(
      {
        uri: Type.String({ minLength: 1, description: 'Directory of the LanceDB database; must lie under LANCEDB_ROOTS' }),
        tables: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50, description: 'Chunk tables (id, content, source_file, …); several give one unified output' }),
        max_chunks: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.tasksPerRun, description: `Rows to read in all (one task each; at most ${LIMITS.tasksPerRun.toLocaleString('en-US')})` })),
        where: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "LanceDB SQL filter, e.g. \"source_file LIKE 'docs/%'\"" })),
      },
      { additionalProperties: false, description: 'Source: chunk tables as Phagocyte writes them; code tables (name contains "code", or a language column) get a code prompt' },
    ),
  ),
  dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: 'Source: a dataset whose records carry content (or text) to generate from' })),
  topics_id: Type.Optional(Type.String({ pattern: '^tp_[0-9a-f]{24}$', description: 'Source: a topic tree or graph; samples cycle over its unique topics (tree leaves, or every non-root graph node)' })),
  topics: Type.Optional(
    Type.Array(Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.topicChars }), { minItems: 1, maxItems: LIMITS.importPathLength }), {
      minItems: 1,
      maxItems: LIMITS.numSamples,
      description: `Source: topic paths given inline, e.g. [["Postgres", "Indexes", "BRIN"]]; at most ${LIMITS.importPathLength} topics of ${LIMITS.topicChars} characters per path`,
    }),
  ),
};

/** Sizing and shaping for a topic source (topics_id or topics). */
const fromTopics = {
  num_samples: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: LIMITS.numSamples }), Type.Literal('auto'), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?%$', maxLength: 16 })], {
      description:
        'Topic sources: how many samples — an integer, "auto" (one per unique topic, default) or "N%" of the unique topics ' +
        `(at most ${LIMITS.samplePercent}%); whichever way, at most ${LIMITS.numSamples.toLocaleString('en-US')} samples`,
    }),
  ),
  instructions: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000, description: 'Topic sources: extra guidance for the teacher (DeepFabric generation.instructions)' })),
  batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, description: 'Topic sources: most samples generated at once for this run, across all workers (DeepFabric batch_size)' })),
};

/** Chunk selection and, for markdown documents, splitting. */
const fromChunks = {
  strategy: Type.Optional(
    Type.Union(
      [
        Type.Object({ type: Type.Literal('sequential') }, { additionalProperties: false }),
        Type.Object(
          {
            type: Type.Literal('random'),
            num_samples: Type.Integer({ minimum: 1, maximum: 1000, description: `Samples (one dataset each); num_samples × chunks_per_sample at most ${LIMITS.tasksPerRun.toLocaleString('en-US')}` }),
            chunks_per_sample: Type.Integer({ minimum: 1, maximum: 10_000 }),
            seed: Type.Optional(Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, description: 'Same seed, same samples (default 42)' })),
            with_replacement: Type.Optional(Type.Boolean({ description: 'Let samples share chunks (default false)' })),
          },
          { additionalProperties: false },
        ),
      ],
      { discriminator: { propertyName: 'type' }, description: 'sequential: every chunk, one dataset (default); random: num_samples samples of chunks_per_sample chunks, one dataset per sample' },
    ),
  ),
  max_chunks: Type.Optional(
    Type.Integer({ minimum: 1, maximum: LIMITS.tasksPerRun, description: `Use at most this many chunks, spread across the documents (one task each; at most ${LIMITS.tasksPerRun.toLocaleString('en-US')})` }),
  ),
  min_chunk_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Characters; default 200. A section shorter than this merges with its neighbours (under the same parent header first), so no chunk is shorter unless the whole document is' }),
  ),
  max_chunk_size: Type.Optional(
    Type.Integer({
      minimum: LIMITS.minMaxChunkSize,
      maximum: 1_000_000,
      description:
        `Characters; default 2000, at least ${LIMITS.minMaxChunkSize}. Longer sections are cut at block, paragraph, sentence or word breaks; a fenced code block is never cut, ` +
        `so a chunk holding one may be longer (the block, with less than min_chunk_size around it). The documents may split into at most ${LIMITS.sourceChunks.toLocaleString('en-US')} chunks`,
    }),
  ),
  overlap: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Characters shared by consecutive pieces of a long section, at most; default 100. The shared part starts at a sentence or word, never inside a code block' }),
  ),
  header_levels: Type.Optional(
    Type.Array(Type.Integer({ minimum: 1, maximum: 6 }), {
      minItems: 1,
      maxItems: 6,
      uniqueItems: true,
      description: 'Header levels that start a section, e.g. [1, 2] (default [1, 2, 3]); deeper headers stay in their section’s text',
    }),
  ),
};

/** qa and cot: how many pairs, and the topic judge. */
const pairs = {
  n_pairs: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'Pairs per chunk (default 3); excludes target_pairs' })),
  target_pairs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Total pairs, spread evenly across chunks' })),
  topic: Type.Optional(Type.String({ minLength: 2, maxLength: 500, description: 'qa and cot: a judge drops pairs not about this topic (kept in output.rejected_dataset_id with the reason)' })),
};

const writing = {
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 50, description: 'Language to write in, e.g. "Spanish" (default: the language of the documents)' })),
  seed_examples: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { minItems: 1, maxItems: 20, description: 'Example questions shown to the teacher for style and difficulty' }),
  ),
};

/** conversation only. */
const conversationOptions = {
  conversation: Type.Optional(
    Type.Object(
      {
        type: Type.Optional(Type.Union([Type.Literal('basic'), Type.Literal('cot')], { description: 'cot adds the reasoning behind the last answer' })),
        reasoning_style: Type.Optional(Type.Union([Type.Literal('freetext'), Type.Literal('structured')], { description: 'cot: free text, or numbered steps { step_number, thought, action }' })),
      },
      { additionalProperties: false, description: 'Topic sources, task conversation: DeepFabric conversation type' },
    ),
  ),
  dataset_system_prompt: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 20_000,
      description: 'Topic sources, conversation: the system message the conversations start with (DeepFabric output.system_prompt / dataset_system_prompt); system_prompt steers the teacher only',
    }),
  ),
  include_system_message: Type.Optional(
    Type.Boolean({
      description:
        'Topic sources, conversation: start each conversation with a system message (DeepFabric sys_msg): dataset_system_prompt, else system_prompt (DeepFabric’s fallback). Default: true when dataset_system_prompt is given',
    }),
  ),
  turns: Type.Optional(Type.Integer({ minimum: 1, maximum: 12, description: 'conversation: turns per conversation (default 3 from chunks, 1 from topics)' })),
  answers: Type.Optional(Type.Boolean({ description: 'conversation: false writes the questions only, for evaluation sets (default true)' })),
};

const { seed_records, ...knowledgeOptions } = knowledgeFields;

const TASKS = {
  qa: 'question–answer pairs by instruction backtranslation (the default when task is absent)',
  cot: 'question, 2–5 reasoning steps and an answer',
  conversation: 'one multi-turn conversation per chunk (or per topic), each turn building on the one before',
  knowledge: 'the four knowledge-tuning flows (extractive and detailed summaries, key facts, document Q&A) from seed records, with a faithfulness judge',
};

/** The variant's source union: exactly one of these fields. */
const oneSource = (fields: string[]) => ({ oneOf: fields.map((f) => ({ title: f, required: [f] })) });

/** One variant per task; `sourceRequired` false leaves the source out of the schema (a pipeline's topics stage supplies it). */
function variants(sourceRequired: boolean) {
  const shape = (task: keyof typeof TASKS, source: string[]) => ({
    title: task,
    description: `task ${task}: ${TASKS[task]}`,
    additionalProperties: false,
    ...(sourceRequired ? oneSource(source) : {}),
  });
  const chunkSources = Object.keys(sources);
  // A request may ask for a dry run; a pipeline's stage may not (the pipeline request says it for all).
  const request = sourceRequired ? dryRun : {};
  const pairTask = { ...sources, ...fromTopics, ...fromChunks, ...pairs, ...writing, ...jobOptions, ...request };
  return [
    Type.Object({ task: Type.Optional(Type.Literal('qa')), ...pairTask }, shape('qa', chunkSources)),
    Type.Object({ task: Type.Literal('cot'), ...pairTask }, shape('cot', chunkSources)),
    Type.Object({ task: Type.Literal('conversation'), ...sources, ...fromTopics, ...conversationOptions, ...fromChunks, ...writing, ...jobOptions, ...request }, shape('conversation', chunkSources)),
    Type.Object(
      {
        task: Type.Literal('knowledge'),
        seed_records,
        dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: 'Source: a dataset of seed records (at most 10,000)' })),
        ...knowledgeOptions,
        ...jobOptions,
        ...request,
      },
      shape('knowledge', ['seed_records', 'dataset_id']),
    ),
  ];
}

const description = 'One shape per task, chosen by `task` (absent: qa); each lists only the fields that apply to it, and its source is exactly one of its source fields.';

/**
 * The generate request: one variant per task, each listing only the fields that apply to it, with
 * its source a union of its own. Consumers read it as one flat object (`GenerateSpec`).
 */
export const GenerateSpec = DiscriminatedUnion('task', variants(true), { description });
export type GenerateSpec = Static<typeof GenerateSpec>;

/** The generate stage of a pipeline: the same variants, its source optional (after a topics stage, those topics are its source). */
export const GenerateStageSpec = DiscriminatedUnion('task', variants(false), { description });
