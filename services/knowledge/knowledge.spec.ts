import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '../limits.js';

export const KNOWLEDGE_FLOWS = ['extractive_summary', 'detailed_summary', 'key_facts', 'document_qa'] as const;
export type KnowledgeFlow = (typeof KNOWLEDGE_FLOWS)[number];

/** A seed record as Red Hat's knowledge-tuning step 02 writes them (seed_data.jsonl). */
export const SeedRecord = Type.Object(
  {
    document: Type.String({ minLength: 1, description: 'The document text (markdown)' }),
    document_outline: Type.Optional(Type.String({ description: 'Title or outline of the document' })),
    domain: Type.Optional(Type.String()),
    icl_document: Type.Optional(Type.String({ description: 'Example document for in-context learning' })),
    icl_query_1: Type.Optional(Type.String()),
    icl_query_2: Type.Optional(Type.String()),
    icl_query_3: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type SeedRecord = Static<typeof SeedRecord>;

/** The knowledge task's fields of the generate spec. */
export const knowledgeFields = {
  seed_records: Type.Optional(
    Type.Array(SeedRecord, {
      minItems: 1,
      maxItems: 10_000,
      description:
        'knowledge: seed records { document, document_outline, domain, icl_document, icl_query_1..3 } (or a dataset_id of at most 10,000). ' +
        `Per seed, a summary flow runs 1 + summaries_per_document tasks, key_facts 1 + facts_per_document, document_qa 1: at most ${LIMITS.tasksPerRun.toLocaleString('en-US')} in all`,
    }),
  ),
  flows: Type.Optional(
    Type.Array(Type.Union(KNOWLEDGE_FLOWS.map((f) => Type.Literal(f))), { minItems: 1, maxItems: 4, uniqueItems: true, description: 'knowledge: the flows to run (default all four); one output dataset each' }),
  ),
  summaries_per_document: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'knowledge: summaries per document and summary flow (default 3)' })),
  questions_per_context: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'knowledge: ICL-guided questions per summary or document (default 3)' })),
  facts_per_document: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'knowledge: key facts per document at most (default 10)' })),
  pairs_per_fact: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'knowledge: question–answer pairs per key fact (default 5)' })),
  summaries_per_call: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10, description: 'knowledge: summaries asked for in one teacher call (default 1: one call per summary, as sdg_hub asks n completions of one prompt)' }),
  ),
  judge_against: Type.Optional(
    Type.Union([Type.Literal('context'), Type.Literal('raw_document')], {
      description: 'knowledge: what the faithfulness judge checks answers against: the text the questions were asked about (a summary, or the document for document_qa; the sdg_hub default) or always the raw document',
    }),
  ),
  judge_key_facts: Type.Optional(Type.Boolean({ description: 'knowledge: judge the key-fact answers for faithfulness too (default false: sdg_hub keeps every key-fact pair)' })),
};
