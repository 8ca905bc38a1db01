import type { PromptTemplate } from '../src/prompts.js';
import type { GenerateDeps } from './generate/generate.service.js';
import { knowledgeHandlers } from './knowledge/knowledge.tasks.js';
import { pipelineAdvanceHandler } from './pipelines/pipeline.task.js';
import { topicsExpandHandler } from './topics/topics.task.js';
import type { TaskHandlers } from '../src/queue/task-handler.js';
import { curateJudgeHandler, curatePassHandler } from './curate/curate.task.js';
import { enrichTaskHandler } from './enrich/enrich.task.js';
import { conversationTaskHandler } from './generate/conversation.task.js';
import { cotTaskHandler } from './generate/cot.task.js';
import { qaTaskHandler } from './generate/qa.task.js';
import { topicSampleHandler } from './generate/topic-sample.task.js';

/** Every task kind a worker can run, by the `kind` the planners give their tasks. */
export function taskHandlers(prompts: Map<string, PromptTemplate>, deps: GenerateDeps): TaskHandlers {
  return {
    'generate.qa': qaTaskHandler(prompts),
    'generate.cot': cotTaskHandler(prompts),
    'generate.conversation': conversationTaskHandler(prompts),
    'generate.topic_sample': topicSampleHandler(prompts),
    'enrich.batch': enrichTaskHandler(prompts),
    'curate.judge': curateJudgeHandler(prompts),
    'curate.pass': curatePassHandler,
    'pipeline.advance': pipelineAdvanceHandler(deps),
    ...knowledgeHandlers(prompts),
    'topics.expand': topicsExpandHandler(prompts, deps.database),
  };
}
