import type { ChunkRef } from '../task-payload.js';

/** A chunk chosen for generation, with the task key that identifies it within the run. */
export interface PlannedChunk {
  key: string;
  chunk: ChunkRef;
}
