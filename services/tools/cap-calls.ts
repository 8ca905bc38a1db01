import type { Link } from './plan-steps.js';

/**
 * A plan cut to at most `max` calls (DeepFabric's `max_per_query`). The planner is given
 * max_steps ≤ max, so only parallel calls can go over: the last call of the widest step is dropped
 * until the plan fits, with the links into or out of it.
 */
export function capCalls(plan: { steps: string[][]; links: Link[] }, max: number): { steps: string[][]; links: Link[] } {
  const steps = plan.steps.map((s) => [...s]);
  let links = plan.links;
  const total = () => steps.reduce((n, s) => n + s.length, 0);
  while (total() > max) {
    const at = steps.reduce((widest, s, i) => (s.length > steps[widest].length ? i : widest), 0);
    if (steps[at].length < 2) break;
    const dropped = steps[at].pop();
    links = links.filter((l) => !(l.to.step === at && l.to.tool === dropped) && !(l.from.step === at && l.from.tool === dropped));
  }
  return { steps, links };
}
