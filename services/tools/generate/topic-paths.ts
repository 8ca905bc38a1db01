import { AppError } from '../../../src/errors.js';
import { pacer } from '../../../src/pacer.js';
import type { JobDeps } from '../../jobs/job-deps.js';
import { uniqueTopics } from '../../topics/topic-structure.js';
import { getTopics } from '../../topics/topics.service.js';

/**
 * The unique root → leaf paths of a stored topic tree or graph, which tool-use examples are written
 * for (Generator's `tool-generate-from-topic`): example i takes path i mod the count, so coverage is
 * even, as generate's topic sampling does. A missing or empty one is a 400 naming topics_id.
 */
export async function topicPaths(deps: Pick<JobDeps, 'database'>, owner: string, topicsId: string): Promise<{ paths: string[][] }> {
  const found = await getTopics(deps, owner, topicsId).catch((err) => {
    if (err instanceof AppError && err.code === 'not_found') throw new AppError('validation_failed', `topics_id: no topics ${topicsId}`, [{ field: 'topics_id', message: `no topics ${topicsId}` }]);
    throw err;
  });
  const paths = await uniqueTopics(found.structure, found.row.mode, pacer());
  if (paths.length === 0) throw new AppError('validation_failed', 'topics_id: the topics have no paths yet', [{ field: 'topics_id', message: 'no topics to write examples for' }]);
  return { paths };
}
