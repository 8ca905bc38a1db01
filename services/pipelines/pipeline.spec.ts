import { Type, type Static } from '@sinclair/typebox';
import { CompareStageSpec } from '../compare/compare.spec.js';
import { CurateSpec } from '../curate/curate.spec.js';
import { SelectStageSpec } from '../select/select.spec.js';
import { EnrichSpec } from '../enrich/enrich.spec.js';
import { EXPORT_FORMATS } from '../export/formats.js';
import { GenerateStageSpec } from '../generate/generate.spec.js';
import { TopicsSpec } from '../topics/topics.spec.js';
import { ToolsGenerateSpec } from '../tools/generate/tools-generate.spec.js';
import { budgetOption, dryRun } from '../jobs/job-options.js';

const withoutInput = <T extends typeof EnrichSpec | typeof CurateSpec>(spec: T, description: string) =>
  Type.Omit(spec, ['dataset_id', 'records', 'dry_run'], { additionalProperties: false, description });

/** The tools stage: the POST /v1/tools/generate spec without dry_run. */
export const ToolsStageSpec = Type.Omit(ToolsGenerateSpec, ['dry_run'], {
  additionalProperties: false,
  description:
    'Stage 1 (instead of generate): verified tool-use examples, the POST /v1/tools/generate spec (after a topics stage, each example is written for one of its topic paths); ' +
    'curate then applies its tool-use gates. Header values in execution.headers are not stored with the pipeline',
});
export type ToolsStageSpec = Static<typeof ToolsStageSpec>;

export const PipelineSpec = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: 'Input of the first stage when generate is skipped' })),
    topics: Type.Optional(Type.Omit(TopicsSpec, ['dry_run'], { additionalProperties: false, description: 'Stage 0: build a topic tree or graph; the generate stage then samples from it' })),
    generate: Type.Optional({ ...GenerateStageSpec, description: 'Stage 1: the generate spec, with its own source and llm (after a topics stage, its source is those topics)' }),
    tools: Type.Optional(ToolsStageSpec),
    enrich: Type.Optional(withoutInput(EnrichSpec, 'Stage 2: enrich the previous stage’s dataset (its own llm)')),
    curate: Type.Optional(withoutInput(CurateSpec, 'Stage 3: judge and filter the previous stage’s dataset (its own llm, e.g. a stronger judge)')),
    select: Type.Optional(SelectStageSpec),
    export: Type.Optional(
      Type.Object(
        { format: Type.Union([...EXPORT_FORMATS, 'fairforge' as const].map((f) => Type.Literal(f))), system_prompt: Type.Optional(Type.String({ maxLength: 20_000 })) },
        { additionalProperties: false, description: 'Stage 4: the format of the final download (links.export)' },
      ),
    ),
    compare: Type.Optional(CompareStageSpec),
    ...budgetOption,
    ...dryRun,
  },
  { additionalProperties: false },
);

export type PipelineSpec = Static<typeof PipelineSpec>;
// compare stays last: it reads what every stage before it wrote.
export const STAGES = ['topics', 'generate', 'tools', 'enrich', 'curate', 'select', 'compare'] as const;
export type StageName = (typeof STAGES)[number];

/** The stages a pipeline runs, in order; export is not a stage of its own but the final link. */
export const stagesOf = (spec: Pick<PipelineSpec, StageName>): StageName[] => STAGES.filter((s) => spec[s] !== undefined);

/**
 * A pipeline's spec as its run stores it: the generate section keeps document names and hashes
 * instead of their text (stage 0 carries the full spec in its task), so it is read back loosely.
 */
export const StoredPipelineSpec = Type.Composite([Type.Omit(PipelineSpec, ['generate']), Type.Object({ generate: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })]);
export type StoredPipelineSpec = Static<typeof StoredPipelineSpec>;
