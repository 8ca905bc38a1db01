import { Type } from '@sinclair/typebox';
import { DRY_RUN_LIMITS } from '../services/jobs/dry-run.js';

const fmt = (n: number) => n.toLocaleString('en-US');

const PlannedChunk = Type.Object({
  id: Type.String({ description: 'chunk_id, as the records will carry it' }),
  source: Type.String({ description: 'Document name, table or dataset' }),
  section_path: Type.Array(Type.String(), { description: 'Headers above the chunk' }),
  chars: Type.Integer(),
  text: Type.String(),
});

const PriceUsed = Type.Object({
  provider: Type.String(),
  model: Type.String(),
  source: Type.Union([Type.Literal('configured'), Type.Literal('table')], { description: 'configured: PROVIDERS_FILE pricing; table: the built-in list prices (GET /v1/providers shows when they were read)' }),
  batch: Type.Boolean({ description: 'Priced at batch rates (llm.mode batch)' }),
  input_per_mtok: Type.Number(),
  output_per_mtok: Type.Number(),
});

const Stage = Type.Object({
  stage: Type.String(),
  planned: Type.Boolean({ description: 'false: the stage reads what the one before writes, so it is planned only when that has run' }),
  tasks: Type.Optional(Type.Integer()),
  teacher_calls: Type.Optional(Type.Integer()),
  note: Type.Optional(Type.String()),
});

/** The answer to `"dry_run": true`: what the run would be, planned exactly as queuing it would, with nothing written. */
export const PlanEnvelope = Type.Object(
  {
    plan: Type.Object({
      kind: Type.String({ description: 'The run kind it would be' }),
      tasks: Type.Integer({ description: 'Tasks queued at the start (a topics expansion or a knowledge flow queues more as it goes; teacher_calls counts those too)' }),
      teacher_calls: Type.Integer({ description: 'Teacher calls expected, judges included; retries not' }),
      chunks: Type.Array(PlannedChunk, {
        description: `The chunks the run would generate from, in task order: the first ${fmt(DRY_RUN_LIMITS.chunks)}, and no more than ${fmt(DRY_RUN_LIMITS.chunkChars)} characters of text in all`,
      }),
      chunks_total: Type.Integer({ description: 'Every distinct chunk the run would use; more than chunks.length when the list was cut' }),
      estimated_input_tokens: Type.Integer({ description: 'Characters sent ÷ 4, prompt templates included' }),
      estimated_output_tokens: Type.Integer({ description: 'From typical answer lengths per item asked for' }),
      estimated_cost_usd: Type.Union([Type.Number(), Type.Null()], {
        description: "From each model's price in effect (the provider's configured pricing, else the built-in price table; batch rates for llm.mode batch); null when a model the run calls has neither",
      }),
      pricing: Type.Array(PriceUsed, { description: 'The prices the estimate used, one per provider, model and mode' }),
      report: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'What the planner reports (chunks, pairs requested, …), as the run would' })),
      stages: Type.Optional(Type.Array(Stage, { description: 'Pipelines: each stage, planned now or not' })),
      notes: Type.Array(Type.String()),
    }),
  },
  { description: 'With "dry_run": true: the plan, nothing queued' },
);
