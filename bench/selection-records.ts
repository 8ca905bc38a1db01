// Synthetic QA records for bench/selection-runs.bench.ts: questions and answers from templates,
// 5% planted paraphrases of the record before (a different wording of the same question and answer).
const ADJ = 'distributed concurrent persistent incremental lazy eager sharded replicated cached streaming batched indexed versioned compressed encrypted partitioned transactional immutable probabilistic adaptive'.split(' ');
const NOUN = 'queue log index tree cache scheduler allocator parser compiler router balancer store lock buffer graph table snapshot checkpoint journal pipeline planner executor tokenizer sampler optimizer encoder decoder filter sketch heap'.split(' ');
const ASPECT = 'latency throughput durability consistency memory use fault tolerance ordering backpressure recovery contention fairness isolation startup time tail latency cost garbage collection hot spots retries schema changes cold starts skew'.split(/ (?=[a-z])/);
const MECH = ['batching writes into larger units', 'keeping a write-ahead journal', 'sharding work by a stable hash', 'bounding queues and shedding load', 'copying on write', 'sampling a fixed fraction', 'caching the last answer per key', 'leasing work with heartbeats', 'merging sorted runs in the background', 'precomputing an inverted index', 'pinning hot pages in memory', 'retrying with jittered backoff', 'splitting long scans into pages', 'compacting tombstones periodically', 'ordering by a monotonic sequence', 'vectorising the inner loop', 'deduplicating by content hash', 'prefetching the next block', 'coalescing small requests', 'checkpointing progress every minute'];
const TEMPLATES = ['How does a {s} handle {a}?', 'Why does {a} matter for a {s}?', 'Explain how a {s} affects {a}.', 'What limits {a} in a {s}?', 'Compare two ways a {s} can improve {a}.', 'Describe the trade-off between {a} and simplicity in a {s}.', 'When should a {s} optimise for {a}?', 'What goes wrong with {a} when a {s} is overloaded?'];
const PARAPHRASE = ['In what way does a {s} deal with {a}?', 'For a {s}, why is {a} important?', 'Can you explain the effect of a {s} on {a}?', 'What puts a limit on {a} for a {s}?', 'Contrast two approaches a {s} may use to improve {a}.', 'Describe how a {s} trades {a} against simplicity.', 'In which cases should a {s} optimise {a}?', 'When a {s} is overloaded, what happens to {a}?'];

function parts(i: number, salt: number) {
  let h = (Math.imul(i + 1, 2654435761) ^ Math.imul(salt + 7, 40503)) >>> 0;
  const pick = <T>(xs: readonly T[]) => xs[(h = (Math.imul(h ^ (h >>> 15), 2246822507) >>> 0) + 1) % xs.length];
  return { s: `${pick(ADJ)} ${pick(NOUN)}`, a: pick(ASPECT), m: pick(MECH), t: (h >>> 3) % TEMPLATES.length, n: (h >>> 7) % 1000 };
}
export function record(i: number, salt: number) {
  const paraphrase = i > 0 && i % 20 === 7; // 5%: the record before, said otherwise
  const p = parts(paraphrase ? i - 1 : i, salt);
  const q = (paraphrase ? PARAPHRASE : TEMPLATES)[p.t].replace('{s}', p.s).replace('{a}', p.a);
  const answer = ANSWERS[p.t % ANSWERS.length].replaceAll('{s}', p.s).replaceAll('{a}', p.a).replace('{m}', p.m).replace('{x}', EXTRA[p.n % EXTRA.length]);
  return { question: q, answer: paraphrase ? `In short: ${answer}` : answer, source: 'selection-bench.md' };
}
const ANSWERS = ['A {s} keeps {a} in check by {m}; {x}.', 'Mostly through {m}: a {s} that skips it sees {a} degrade. {x}.', '{x}. For {a}, a {s} relies on {m}.', 'By {m}. Without it {a} suffers as load grows.'];
const EXTRA = ['the effect is largest under bursty traffic', 'measure before tuning anything', 'this is why operators watch the p99', 'small deployments rarely notice', 'the trick dates back to early databases', 'it also simplifies recovery after a crash', 'benchmarks on real hardware confirm it', 'the cost is a little extra memory', 'it interacts badly with very small pages', 'most production systems enable it by default', 'the gain shrinks on fast disks', 'monitoring must account for it'];
