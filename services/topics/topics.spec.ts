import { Type, type Static } from '@sinclair/typebox';
import { budgetOption, cacheOption, dryRun, LlmSettings } from '../jobs/job-options.js';
import { LIMITS } from '../limits.js';

export const TopicsSpec = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 2000, description: 'The root topic' }),
    mode: Type.Optional(Type.Union([Type.Literal('tree'), Type.Literal('graph')], { description: 'tree (default) or graph (nodes may have several parents)' })),
    degree: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: `Subtopics per node (default 3; at most 10 for graphs); degree^depth at most ${LIMITS.topicLeaves.toLocaleString('en-US')}` })),
    depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: `Levels below the root (default 2; at most 5 for graphs); degree^depth at most ${LIMITS.topicLeaves.toLocaleString('en-US')}` })),
    prompt_style: Type.Optional(
      Type.Union([Type.Literal('default'), Type.Literal('isolated'), Type.Literal('anchored')], {
        description: 'graphs: default (links to related existing topics), isolated (no links), anchored (no links, root → node path as context)',
      }),
    ),
    system_prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    llm: Type.Optional(LlmSettings),
    ...cacheOption,
    ...budgetOption,
    ...dryRun,
  },
  { additionalProperties: false },
);
export type TopicsSpec = Static<typeof TopicsSpec>;

export const TOPIC_LIMITS = { tree: { degree: 50, depth: 10 }, graph: { degree: 10, depth: 5 } } as const;
