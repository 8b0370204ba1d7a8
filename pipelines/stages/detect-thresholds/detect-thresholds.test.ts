import assert from 'node:assert/strict';
import { Chain, ext, fmetrics, inventoryVm, S, states, vmRef, type VmRef } from '../../alerting/testing';
import type { FlowMetrics } from '../../../schemas/flow-metrics';
import { rekeyMetricsStage } from '../detect-rekey-metrics';
import { detectThresholdsStage } from '.';

const web = vmRef('web-1', '10.0.0.10', 'h1');
const db = vmRef('db-1', '10.0.0.20', 'h2');
const lab = vmRef('lab-1', '10.1.0.10', 'h1', 'lab');
const labDb = vmRef('lab-db', '10.1.0.20', 'h2', 'lab');
const tick = (_p: number, sec: number) => fmetrics(ext('192.0.2.1'), 40000, ext('192.0.2.2'), 443, sec);

function chain(cfg: Record<string, unknown> = {}): Chain<FlowMetrics> {
  const c = new Chain(rekeyMetricsStage(), detectThresholdsStage(cfg));
  for (const v of [web, db, lab, labDb]) c.detector.pipeGlobal('inventory', v.vm!, inventoryVm(v));
  return c;
}

/** One window of web-1 -> db-1:5432 with this RTT (two flows), 1000 segments of which `lost` lost. */
function win(c: Chain<FlowMetrics>, sec: number, rttMs: number, x: { lost?: number; from?: VmRef; to?: VmRef; util?: number } = {}): void {
  const from = x.from ?? web, to = x.to ?? db;
  c.push(fmetrics(from, 40000 + sec, to, 5432, sec, { rttMs, segments: 1000, lost: x.lost ?? 1, utilClientOut: x.util ?? 0.3, utilServerOut: 0.1 }));
  c.push(fmetrics(from, 41000 + sec, to, 5432, sec, { rttMs, segments: 1000, lost: x.lost ?? 1 }));
}

describe('detect-thresholds (driver, 4 partitions, behind detect-rekey-metrics)', () => {
  it('lifecycle: a breach opens one alert, updates it while it lasts, resolves it after recovery', () => {
    const c = chain();
    const rtt = [10, 12, 9, 11, 10, 80, 85, 82, 130, 128, 11, 10, 9, 10, 11];
    rtt.forEach((r, i) => win(c, i * 10, r));
    c.tick(200, tick);
    const all = c.alerts();
    const got = all.filter((a) => a.dedup_key === 'rtt_threshold|acme|web-1->db-1|avg');
    assert.deepEqual(states(got), ['rtt_threshold open', 'rtt_threshold updated', 'rtt_threshold resolved']);
    const [open, upd, res] = got;
    assert.equal(open.value, 80);
    assert.equal(open.threshold, 50);
    assert.equal(open.metric, 'rtt_avg_ms');
    assert.equal(open.severity, 'warning');
    assert.deepEqual([open.tenant, open.vm_a, open.vm_b, open.host_a, open.host_b], ['acme', 'web-1', 'db-1', 'h1', 'h2']);
    assert.equal(open.first_seen_ns, 60n * S);
    assert.equal(upd.value, 130);
    assert.equal(upd.severity, 'critical', '>= 2 x 50 ms');
    assert.equal(res.last_seen_ns, 100n * S);
    assert.equal(res.updated_ns, 130n * S);
    assert.equal(new Set(got.map((a) => a.id)).size, 1);
    assert.match(open.summary, /web-1 -> db-1: average RTT 80 ms \(limit 50 ms\)/);
    // the maximum (1.5 x 130 = 195 ms) stays under 200 ms, ΔRTT had no warmed-up baseline yet: only this alert
    assert.equal(all.length, got.length, all.map((a) => a.dedup_key).join(' '));
  });

  it('normal variability raises nothing (RTT 5-15 ms, 0.1 % loss, 30 % utilization)', () => {
    const c = chain();
    for (let i = 0; i < 60; i++) win(c, i * 10, 5 + (i * 7) % 11);
    c.tick(700, tick);
    assert.deepEqual(states(c.alerts()), []);
  });

  it('loss above the acceptable rate: average and worst flow direction', () => {
    const c = chain();
    for (let i = 0; i < 3; i++) win(c, i * 10, 10);
    win(c, 30, 10, { lost: 60 }); // 6 % of each flow's client direction, 3 % of all segments
    c.tick(100, tick);
    const opened = c.alerts().filter((a) => a.state === 'open');
    assert.deepEqual(opened.map((a) => `${a.dedup_key} ${a.value}`), [
      'loss_threshold|acme|web-1->db-1|avg 0.03', 'loss_threshold|acme|web-1->db-1|max 0.06']);
    assert.equal(opened[0].evidence.lost_segments, '120');
    assert.equal(opened[0].evidence.data_segments, '4000');
  });

  it('ΔRTT: a rise above the pair\'s own baseline alerts only after the warm-up', () => {
    const early = chain();
    for (let i = 0; i < 4; i++) win(early, i * 10, 10);
    for (let i = 4; i < 8; i++) win(early, i * 10, 40); // under the 50 ms average limit; no baseline yet
    early.tick(200, tick);
    assert.deepEqual(early.alerts(), []);

    const late = chain();
    for (let i = 0; i < 15; i++) late.push(fmetrics(web, 40000 + i, db, 5432, i * 10, { rttMs: 10 }));
    late.push(fmetrics(web, 40100, db, 5432, 150, { rttMs: 40 }));
    late.tick(300, tick);
    const d = late.alerts().filter((a) => a.metric === 'delta_rtt_ms');
    assert.deepEqual(states(d), ['rtt_threshold open', 'rtt_threshold resolved']);
    assert.ok(Math.abs(d[0].value! - 30) < 0.01, `ΔRTT ${d[0].value}`);
    assert.ok(Math.abs(d[0].baseline! - 10) < 0.01);
    assert.equal(d[0].dedup_key, 'rtt_threshold|acme|web-1->db-1|delta');
  });

  it('per-pair and per-tenant overrides', () => {
    const c = chain({ overrides: [{ subject: 'web-1->db-1', rttAvgMs: 200 }, { tenant: 'lab', rttAvgMs: 5, rttMaxMs: 0, deltaRttMs: 0 }] });
    win(c, 0, 80);
    win(c, 0, 8, { from: lab, to: labDb });
    c.tick(100, tick);
    const opened = c.alerts().filter((a) => a.state === 'open');
    assert.deepEqual(opened.map((a) => `${a.dedup_key} ${a.threshold}`), ['rtt_threshold|lab|lab-1->lab-db|avg 5']);
  });

  it('NIC utilization per VM: flows of the VM add up (busiest monitor)', () => {
    const c = chain();
    for (const op of ['mon:h1', 'mon:h2']) {
      c.push(fmetrics(web, 40000, db, 5432, 0, { utilClientOut: 0.5, op }));
      c.push(fmetrics(web, 40001, db, 5433, 0, { utilClientOut: 0.4, op }));
    }
    c.tick(100, tick);
    const u = c.alerts().filter((a) => a.type === 'utilization_threshold');
    // web-1 sends 90 % of its NIC; db-1 (same capacity in this inventory) receives it
    assert.deepEqual(u.map((a) => `${a.state} ${a.dedup_key}`).sort(), ['open utilization_threshold|acme|db-1', 'open utilization_threshold|acme|web-1',
      'resolved utilization_threshold|acme|db-1', 'resolved utilization_threshold|acme|web-1']);
    const w = u.find((a) => a.vm_a === 'web-1')!, d = u.find((a) => a.vm_a === 'db-1')!;
    assert.ok(Math.abs(w.value! - 0.9) < 1e-9);
    assert.equal(w.evidence.utilization_out, '0.9');
    assert.equal(d.evidence.utilization_in, '0.9');
    assert.match(d.summary, /NIC in at 90 %/);
  });

  it('hysteresis: RTT flapping around the limit is one alert', () => {
    const c = chain();
    [60, 45, 30, 60, 55, 42, 10, 10, 10, 10].forEach((r, i) => win(c, i * 10, r));
    c.tick(200, tick);
    const got = c.alerts().filter((a) => a.dedup_key === 'rtt_threshold|acme|web-1->db-1|avg');
    // 45 and 42 (>= 0.8 x 50) still breach; 30 is one clear window; updates only on material changes (55 vs 60 is not)
    assert.deepEqual(states(got), ['rtt_threshold open', 'rtt_threshold updated', 'rtt_threshold updated', 'rtt_threshold updated', 'rtt_threshold resolved']);
    assert.deepEqual(got.map((a) => a.value), [60, 45, 60, 42, 42]);
    assert.equal(new Set(got.map((a) => a.id)).size, 1);
    assert.equal(got[4].last_seen_ns, 60n * S);
  });
});

describe('detect-thresholds: review regressions', () => {
  it('NIC utilization with an evaluation window of two flow windows is their average, not their sum', () => {
    const c = chain({ windowMs: 20_000 });
    // web-1 sends at 50 % of its NIC in both 10 s flow windows of the 20 s evaluation window [0, 20): 50 % on average
    for (const sec of [0, 10]) c.push(fmetrics(web, 40000 + sec, db, 5432, sec, { utilClientOut: 0.5, utilServerOut: 0.1 }));
    c.tick(200, (_p, sec) => fmetrics(ext('192.0.2.1'), 40000, ext('192.0.2.2'), 443, sec));
    assert.deepEqual(c.alerts().filter((a) => a.type === 'utilization_threshold').map((a) => `${a.state} ${a.dedup_key} ${a.value}`), []);
  });
});
