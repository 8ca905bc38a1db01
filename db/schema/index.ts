export { runs } from './runs.table.js';
export { tasks } from './tasks.table.js';
export { datasets } from './datasets.table.js';
export { records } from './records.table.js';
export { runEvents } from './run-events.table.js';
export { topics } from './topics.table.js';
export { runCounters, datasetCounts } from './counters.table.js';
export { toolSets } from './tool-sets.table.js';
export { embeddings } from './embeddings.table.js';
