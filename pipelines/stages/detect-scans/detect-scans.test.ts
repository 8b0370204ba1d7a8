import assert from 'node:assert/strict';
import { Chain, ext, iflow, states, vmRef } from '../../alerting/testing';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import { rekeyFlowsStage } from '../detect-rekey-flows';
import { detectScansStage, type DetectScansConfig } from '.';

const web = vmRef('web-1', '10.0.0.10', 'h1');
const db = vmRef('db-1', '10.0.0.20', 'h2');
const app = vmRef('app-1', '10.0.0.30', 'h1');
const attacker = vmRef('evil-1', '10.0.0.66', 'h2', 'mallory');
const tick = (_p: number, sec: number) => iflow(ext('192.0.2.1'), 40000, ext('192.0.2.2'), 443, sec);

function chain(cfg: Record<string, unknown> = {}): Chain<IdentifiedFlow> {
  return new Chain(rekeyFlowsStage(), detectScansStage(cfg as Partial<DetectScansConfig>));
}

/** Normal traffic: web talks to db:5432 and app:8080 from a few ephemeral ports, each window. */
function normal(c: Chain<IdentifiedFlow>, sec: number): void {
  for (let i = 0; i < 5; i++) {
    c.push(iflow(web, 40000 + sec + i, db, 5432, sec, { syn: 1, synack: 1, op: 'mon:h1' }));
    c.push(iflow(web, 40000 + sec + i, db, 5432, sec, { syn: 1, synack: 1, op: 'mon:h2' })); // the same flow at the peer's monitor
    c.push(iflow(web, 50000 + sec + i, app, 8080, sec, { syn: 1, synack: 1 }));
  }
}

describe('detect-scans (driver, 4 partitions, behind detect-rekey-flows)', () => {
  it('normal variability raises nothing', () => {
    const c = chain();
    for (let sec = 0; sec < 300; sec += 10) normal(c, sec);
    c.tick(400, tick);
    assert.deepEqual(c.alerts(), []);
  });

  it('a port scan opens one alert with evidence, updated while it lasts, resolved after 3 clear windows', () => {
    const c = chain();
    for (let sec = 0; sec < 60; sec += 10) normal(c, sec);
    for (const sec of [60, 70]) for (let p = 1; p <= 300; p++) c.push(iflow(attacker, 45000, db, p, sec, { syn: 1, synack: 0, rst: 1, pktsFwd: 1, pktsRev: 1 }));
    // one window of 1200 ports (a material change -> update), then quiet
    for (let p = 1; p <= 1200; p++) c.push(iflow(attacker, 45000, db, p, 80, { syn: 1, synack: 0, rst: 1, pktsFwd: 1, pktsRev: 1 }));
    for (let sec = 90; sec < 200; sec += 10) normal(c, sec);
    c.tick(230, tick);
    const got = c.alerts().filter((a) => a.type === 'port_scan');
    assert.deepEqual(states(got), ['port_scan open', 'port_scan updated', 'port_scan resolved']);
    const [open, upd, res] = got;
    assert.equal(open.dedup_key, 'port_scan|mallory|evil-1');
    assert.equal(open.id, `port_scan|mallory|evil-1@${70n * 1_000_000_000n}`);
    assert.equal(open.tenant, 'mallory');
    assert.equal(open.vm_a, 'evil-1');
    assert.equal(open.addr_a, '10.0.0.66');
    assert.equal(open.host_a, 'h2');
    assert.equal(open.value, 300);
    assert.equal(open.threshold, 100);
    assert.equal(open.severity, 'warning');
    assert.match(open.evidence.ports_sample, /^1,2,3,4,5,/);
    assert.equal(upd.value, 1200);
    assert.equal(upd.severity, 'critical', '>= 4 x threshold');
    assert.equal(upd.id, open.id);
    assert.equal(res.id, open.id);
    assert.equal(res.last_seen_ns, 90n * 1_000_000_000n, 'last window that showed it ends at 90 s');
    assert.equal(res.updated_ns, 120n * 1_000_000_000n, 'declared clear after windows ending 100, 110, 120');
    // The scan also hit one host only and failed every attempt: connection failures, no host sweep.
    const types = new Set(c.alerts().map((a) => a.type));
    assert.ok(!types.has('host_sweep'));
  });

  it('connection failures: most attempts of a source unanswered', () => {
    const c = chain();
    for (let i = 0; i < 30; i++) c.push(iflow(app, 41000 + i, db, 5432, 0, { syn: 3, synack: 0, pktsFwd: 3, pktsRev: 0 }));
    for (let i = 0; i < 10; i++) c.push(iflow(app, 42000 + i, db, 5432, 0, { syn: 1, synack: 1 }));
    c.tick(100, tick);
    const got = c.alerts();
    const open = got.find((a) => a.type === 'connection_failures' && a.state === 'open')!;
    assert.ok(open, JSON.stringify(states(got)));
    assert.equal(open.vm_a, 'app-1');
    assert.equal(open.value, 0.75);
    assert.equal(open.evidence.attempts, '40');
    assert.equal(open.evidence.failed, '30');
    assert.deepEqual(states(got.filter((a) => a.type === 'connection_failures')), ['connection_failures open', 'connection_failures resolved']);
  });

  it('host sweep alerts per tenant; a tenant override raises the threshold for its sources only', () => {
    const cfg = { overrides: [{ tenant: 'acme', hostSweepHosts: 500 }] };
    const c = chain(cfg);
    const scanner = vmRef('mon-1', '10.0.0.5', 'h1', 'acme'); // acme's monitoring VM pings everything
    for (let h = 1; h <= 120; h++) {
      c.push(iflow(scanner, 0, ext(`10.9.0.${h}`), 0, 0, { proto: 1, pktsFwd: 1, pktsRev: 1 }));
      c.push(iflow(attacker, 0, ext(`10.9.1.${h}`), 0, 0, { proto: 1, pktsFwd: 1, pktsRev: 0 }));
    }
    c.tick(50, tick);
    const opened = c.alerts().filter((a) => a.state === 'open');
    assert.deepEqual(opened.map((a) => `${a.type} ${a.vm_a}`), ['host_sweep evil-1']);
    assert.equal(opened[0].value, 120);
    assert.equal(opened[0].threshold, 50);
    assert.equal(opened[0].severity, 'warning');
  });

  it('a per-subject override beats the tenant override', () => {
    const c = chain({ overrides: [{ subject: 'evil-1', portScanPorts: 20 }, { tenant: 'mallory', portScanPorts: 1000 }] });
    for (let p = 1; p <= 30; p++) c.push(iflow(attacker, 45000, db, p, 0, { syn: 1, synack: 1 }));
    c.tick(50, tick);
    const got = c.alerts().filter((a) => a.type === 'port_scan' && a.state === 'open');
    assert.equal(got.length, 1);
    assert.equal(got[0].threshold, 20);
  });

  it('SYN flood: a victim receiving half-open SYNs from many sources', () => {
    const c = chain();
    for (let i = 0; i < 400; i++) c.push(iflow(ext(`198.51.100.${i % 250}`), 1024 + i, web, 80, 0, { syn: 10, synack: 10, pktsFwd: 10, pktsRev: 10 }));
    c.tick(50, tick);
    const f = c.alerts().filter((a) => a.type === 'syn_flood');
    assert.deepEqual(states(f), ['syn_flood open', 'syn_flood resolved']);
    assert.equal(f[0].vm_b, 'web-1');
    assert.equal(f[0].vm_a, null);
    assert.equal(f[0].value, 400, '4000 SYNs in 10 s');
    assert.equal(f[0].evidence.half_open_ratio, '1');
    assert.match(f[0].evidence.sources_sample, /^198\.51\.100\./);
    // The same SYN rate with completed handshakes (the clients send data) is busy, not a flood.
    const ok = chain();
    for (let i = 0; i < 400; i++) ok.push(iflow(ext(`198.51.100.${i % 250}`), 1024 + i, web, 80, 0, { syn: 10, synack: 10, pktsFwd: 30, pktsRev: 20 }));
    ok.tick(50, tick);
    assert.deepEqual(ok.alerts().filter((a) => a.type === 'syn_flood'), []);
  });

  it('ICMP flood towards one VM', () => {
    const c = chain();
    c.push(iflow(attacker, 0, db, 0, 0, { proto: 1, pktsFwd: 15_000, pktsRev: 0 }));
    c.push(iflow(app, 0, db, 0, 0, { proto: 1, pktsFwd: 5, pktsRev: 5 }));
    c.tick(50, tick);
    const f = c.alerts().filter((a) => a.type === 'icmp_flood' && a.state === 'open');
    assert.equal(f.length, 1);
    assert.equal(f[0].vm_b, 'db-1');
    assert.equal(f[0].value, 1500.5);
  });

  it('hysteresis: a scan flapping around its threshold is one alert (updates), resolved once', () => {
    const c = chain();
    // 150, 90 (below 100 but above the clear level 80: still breaching), 0 (one clear window), 150, 130, then quiet
    const per = [150, 90, 0, 150, 130, 0, 0, 0, 0];
    per.forEach((n, i) => { for (let p = 1; p <= n; p++) c.push(iflow(attacker, 45000, db, p, i * 10, { syn: 1, synack: 1 })); });
    c.tick(140, tick);
    const got = c.alerts().filter((a) => a.type === 'port_scan');
    // 90 vs 150 and 150 vs 90 are material changes (>= 25 %); 130 vs 150 is not
    assert.deepEqual(states(got), ['port_scan open', 'port_scan updated', 'port_scan updated', 'port_scan resolved']);
    assert.equal(new Set(got.map((a) => a.id)).size, 1);
    assert.deepEqual(got.map((a) => a.value), [150, 90, 150, 130]);
    assert.equal(got[3].last_seen_ns, 50n * 1_000_000_000n, 'the 130 window (40-50 s) was the last breach');
  });

  it('late records are counted, not folded into evaluated windows; bad config is a clear error', () => {
    const c = chain();
    c.tick(100, tick);
    for (let p = 1; p <= 300; p++) c.push(iflow(attacker, 45000, db, p, 10, { syn: 1, synack: 1 }));
    assert.deepEqual(c.alerts(), []);
    assert.ok((c.detector.metrics.droppedByReason.get('late') ?? 0) > 0);
    // a record under a key that is neither of its endpoints (a foreign producer) is counted, not folded
    c.detector.pipeInput('ep|acme|nobody', iflow(attacker, 45000, db, 22, 200));
    assert.equal(c.detector.metrics.droppedByReason.get('key-mismatch'), 1);
    assert.throws(() => detectScansStage({ defaults: { portScanPorts: 1 } }), /portScanPorts/);
    assert.throws(() => detectScansStage({ overrides: [{ portScanPorts: 5 }] }), /tenant.*subject/);
  });

  it('a replay with upstream tasks far apart, with lateness longer than the capture, gives the live alerts', () => {
    const flows: IdentifiedFlow[] = [];
    for (let sec = 0; sec < 300; sec += 10) {
      for (let i = 0; i < 5; i++) flows.push(iflow(web, 40000 + sec + i, db, 5432, sec, { syn: 1, synack: 1 }));
      if (sec >= 100 && sec < 130) for (let p = 1; p <= 200; p++) flows.push(iflow(attacker, 45000, db, p, sec, { syn: 1, synack: 0, pktsFwd: 1, pktsRev: 0 }));
    }
    const run = (order: IdentifiedFlow[], cfg: Record<string, unknown>) => {
      const c = chain(cfg);
      for (const f of order) c.push(f);
      c.end();
      return c.alerts().map((a) => `${a.state} ${a.dedup_key} ${a.value} ${a.updated_ns}`);
    };
    const live = run(flows, {});
    assert.ok(live.includes(`open port_scan|mallory|evil-1 200 ${110n * 1_000_000_000n}`), live.join('\n'));
    // four upstream tasks, each replayed to its end before the next (flows hashed by flow key)
    const h = (k: string) => [...k].reduce((x, ch) => (x * 31 + ch.charCodeAt(0)) | 0, 0) & 3;
    const skewed = [0, 1, 2, 3].flatMap((p) => flows.filter((f) => h(f.flow_key) === p));
    assert.notDeepEqual(skewed, flows);
    const lossy = chain({});
    for (const f of skewed) lossy.push(f);
    lossy.end();
    assert.ok((lossy.detector.metrics.droppedByReason.get('late') ?? 0) > 0, 'with the default lateness the skew makes records late');
    assert.deepEqual(run(skewed, { allowedLatenessMs: 86_400_000 }), live);
  });
});
