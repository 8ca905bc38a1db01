import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { TEACHER_MODES } from './support/teacher-modes.js';
import { checkExports, checkKept, finished, generate, HDF5, HDF5_NAMES, records } from './support/tools-generate.js';

/**
 * The issue's bar: hdf5_tools.json as it is → 100 examples in auto mode, every one verified. The
 * fake's judge decides at random, so here one decision is scripted — the judge approves (a pin on
 * its prompt) — and everything else stays the fake's: the requests, every step's arguments (the
 * schema-only teacher's random schema-valid values included), the simulated results. Format and
 * execution are verified for real; a call that broke its tool's schema would still be rejected.
 */
const APPROVE = { match: 'strict reviewer of tool-use training data', values: { correct: true, confidence: 0.95, issues: [] } };

describe.each(DATABASES)('hdf5_tools.json → 100 verified examples (%s)', (db) => {
  describe.each(TEACHER_MODES)('$mode', ({ fake }) => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ db, fake: { ...fake, pins: [APPROVE] } });
    });
    afterAll(() => h?.close());

    it('keeps all 100, each verified three times, every call valid against its tool in the records and in every export', async () => {
      const res = await generate(h, { tools: HDF5, target_examples: 100, seed: 11 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await finished(h, res.body.run.id);
      expect(run).toMatchObject({ kind: 'tools', status: 'succeeded' });
      const kept = await records(h, run.output.dataset_id);
      const rejected = await records(h, run.output.rejected_dataset_id);
      expect(rejected.map((r) => `${r.data.rejected_stage}: ${r.data.rejected_reason}`)).toEqual([]);
      expect(kept).toHaveLength(100);
      const called = new Map<string, number>();
      for (const r of kept) for (const c of checkKept(r)) called.set(c.tool, (called.get(c.tool) ?? 0) + 1);
      // Every call of every example, in each function-calling format, validates against its tool.
      const checked = await checkExports(h, run.output.dataset_id, kept);
      const calls = [...called.values()].reduce((a, b) => a + b, 0);
      expect(checked).toEqual({ openai: calls, trl: calls, xlam: calls });
      // Each tool reaches min_per_tool (10) kept examples, or the report names it and says why.
      const report = run.output.report;
      const below = new Map(report.coverage.below.map((b: { tool: string; why: string }) => [b.tool, b.why]));
      for (const name of HDF5_NAMES) {
        const examples = report.per_tool[name]?.kept ?? 0;
        if (examples >= 10) expect(below.has(name), name).toBe(false);
        else expect(below.get(name), name).toEqual(expect.any(String));
      }
      expect(report.kept).toBe(100);
    });
  });
});
