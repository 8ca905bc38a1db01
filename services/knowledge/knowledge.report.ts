import type { Database } from '../../db/client.js';
import { countByDataset } from '../../db/datasets.repository.js';

/** Per flow: answers kept, and answers the faithfulness judge dropped. */
export async function knowledgeReport(database: Database, output: { datasets?: Record<string, string>; rejected_dataset_id?: string }) {
  if (!output.datasets || !output.rejected_dataset_id) return {};
  const ids = [...Object.values(output.datasets), output.rejected_dataset_id];
  const counts = await countByDataset(database.db, ids, 'flow');
  const flows: Record<string, { kept: number; dropped_unfaithful: number }> = {};
  for (const [flow, id] of Object.entries(output.datasets)) {
    flows[flow] = {
      kept: counts.filter((c) => c.dataset_id === id).reduce((n, c) => n + c.n, 0),
      dropped_unfaithful: counts.find((c) => c.dataset_id === output.rejected_dataset_id && c.value === flow)?.n ?? 0,
    };
  }
  return { flows };
}
