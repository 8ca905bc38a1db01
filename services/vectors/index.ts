/**
 * Vector algorithms for selection, comparison and semantic dedup: pure functions over Float32 rows,
 * no database. Every long loop yields to the event loop and honours an abort signal, because these
 * run inside queue tasks whose lease heartbeat must keep beating.
 */
export { vectorSet, fromFlat, type VectorSet, type VectorOpts } from './vector-set.js';
export { lexicalVectors } from './lexical.js';
export { nearestNeighbours } from './neighbours.js';
export { nearDuplicates, deitaSelect } from './greedy.js';
export { kmeans } from './kmeans.js';
export { coverageSelect } from './coverage.js';
