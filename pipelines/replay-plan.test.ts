import assert from 'node:assert/strict';
import { loadConfig } from '../lib/config';
import { planStages } from './replay-plan';
import { stageRegistry } from './registry';

/** The lateness a planned stage's processor was configured with, read back through its config schema's effect. */
function latenessOf(def: unknown): number | undefined {
  const create = (def as { create: () => { cfg?: { allowedLatenessMs?: number }; settings?: { allowedLatenessMs?: number } } }).create();
  return create.cfg?.allowedLatenessMs ?? create.settings?.allowedLatenessMs;
}

describe('replay plan', () => {
  const cfg = loadConfig();
  const sources = new Set([cfg.topics.packets, 'tapline.inventory.v1']);

  it('orders every registered stage after the stages writing its inputs', () => {
    const plan = planStages(cfg, { sources });
    const names = plan.stages.map((s) => s.name);
    assert.ok(names.length >= 10 && names.length + plan.skipped.length === Object.keys(stageRegistry()).length);
    const writerOf = new Map<string, string[]>();
    for (const s of plan.stages) for (const t of Object.keys(s.def.outputs)) writerOf.set(t, [...(writerOf.get(t) ?? []), s.name]);
    for (const [i, s] of plan.stages.entries()) {
      for (const w of writerOf.get(s.def.input.topic) ?? []) if (w !== s.name) assert.ok(names.indexOf(w) < i, `${w} runs before ${s.name}`);
    }
  });

  it('raises the lateness of stages reading another stage\'s output, not of those reading the time-merged packets', () => {
    const plain = new Map(planStages(cfg, { sources }).stages.map((s) => [s.name, latenessOf(s.def)]));
    const plan = planStages(cfg, { sources, reorderLatenessMs: 3_600_000 });
    const raised = plan.stages.filter((s) => latenessOf(s.def) === 3_600_000).map((s) => s.name).sort();
    for (const d of ['detect-dns', 'detect-scans', 'detect-thresholds', 'detect-traffic', 'rollup']) assert.ok(raised.includes(d), `${d} raised (${raised})`);
    for (const s of plan.stages) {
      if (s.def.input.topic === cfg.topics.packets) assert.equal(latenessOf(s.def), plain.get(s.name), `${s.name} reads packets: unchanged`);
    }
    assert.equal(latenessOf(plan.stages.find((s) => s.name === 'aggregate')!.def), plain.get('aggregate'));
  });
});
