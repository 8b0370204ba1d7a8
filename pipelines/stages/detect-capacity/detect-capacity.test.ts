import assert from 'node:assert/strict';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import { fitLine, daysUntil } from '../../alerting/forecast';
import { Chain, ext, iflow, inventoryVm, S, states, vmRef } from '../../alerting/testing';
import { rekeyFlowsStage } from '../detect-rekey-flows';
import { detectCapacityStage } from '.';

const web = vmRef('web-1', '10.0.0.10', 'h1');
const db = vmRef('db-1', '10.0.0.20', 'h2');
const internet = ext('203.0.113.9');
const tick = (_p: number, sec: number) => iflow(ext('192.0.2.1'), 40000, ext('192.0.2.2'), 443, sec);
// 1-minute points of 10 s sub-windows, so a test covers "days" of history in minutes of event time
const FAST = { windowMs: 60_000, subWindowMs: 10_000, allowedLatenessMs: 10_000 };

function chain(cfg: Record<string, unknown>): Chain<IdentifiedFlow> {
  const c = new Chain(rekeyFlowsStage(), detectCapacityStage({ ...FAST, ...cfg }));
  c.detector.pipeGlobal('inventory', 'web-1', inventoryVm(web, 'web-1', 1_000_000_000));
  c.detector.pipeGlobal('inventory', 'db-1', inventoryVm(db, 'db-1', 1_000_000_000));
  return c;
}

/** Minute `m`: six 10 s flow windows of web-1 -> internet, the busiest at `peak` of its 1 Gbit/s NIC (out), the rest at 5 %. */
function minute(c: Chain<IdentifiedFlow>, m: number, peak: number, to = internet): void {
  for (let k = 0; k < 6; k++) {
    const util = k === 3 ? peak : 0.05;
    c.push(iflow(web, 40000 + k, to, 443, m * 60 + k * 10, { bytesFwd: Math.round(util * 1.25e9), bytesRev: 1000 }));
  }
}

describe('detect-capacity (driver, 4 partitions, behind detect-rekey-flows)', () => {
  it('forecast: least squares, days until a level', () => {
    const day = 86_400e9;
    const fit = fitLine([[0, 0.1], [day, 0.2], [2 * day, 0.3]])!;
    assert.ok(Math.abs(fit.slopePerDay - 0.1) < 1e-12 && Math.abs(fit.r2 - 1) < 1e-12);
    assert.ok(Math.abs(daysUntil(fit, 0.8)! - 5) < 1e-9);
    assert.equal(daysUntil(fitLine([[0, 0.5], [day, 0.4]])!, 0.8), null, 'shrinking: never');
    assert.equal(daysUntil(fitLine([[0, 0.85], [day, 0.9]])!, 0.8), 0, 'already there');
  });

  it('steady growth: "web-1 reaches 80 % in N days" with the date and the slope; resolved when the growth stops', () => {
    const c = chain({ defaults: { minPoints: 6, horizonDays: 1, hostPairs: false } });
    for (let m = 0; m < 6; m++) minute(c, m, 0.1 + 0.02 * m);
    for (let m = 6; m < 16; m++) minute(c, m, 0.1); // the growth stops: the line flattens, the crossing moves out
    c.tick(20 * 60, tick);
    const got = c.alerts();
    assert.equal(got[0].state, 'open');
    const a = got[0];
    assert.equal(a.dedup_key, 'capacity_forecast|vm|acme|web-1');
    assert.equal(a.first_seen_ns, 360n * S, 'at the 6th point (window ending 6 min)');
    assert.ok(Math.abs(a.value! - 0.6 / 28.8) < 1e-9, `days ${a.value}`); // 2 %/min = 28.8/day; 0.2 -> 0.8
    assert.equal(a.evidence.slope_per_day, '28.8');
    assert.equal(a.evidence.crossing_date, '1970-01-01T00:35:00.000Z', 'last point (5 min) + 30 min');
    assert.equal(a.evidence.capacity_bps, '1000000000');
    assert.equal(a.severity, 'critical', 'within a quarter of the horizon');
    assert.match(a.summary, /^at this growth, web-1 reaches 80 % in 0\.021 days \(1970-01-01\)$/);
    assert.equal(got[got.length - 1].state, 'resolved');
    assert.equal(new Set(got.map((x) => x.id)).size, 1, 'one alert');
  });

  it('flat, noisy utilization (and too short a history) raises nothing', () => {
    const c = chain({ defaults: { minPoints: 6, horizonDays: 1, hostPairs: false } });
    for (let m = 0; m < 40; m++) minute(c, m, 0.3 + ((m * 37) % 10) / 100);
    c.tick(45 * 60, tick);
    assert.deepEqual(c.alerts(), []);
    const short = chain({ defaults: { horizonDays: 1, hostPairs: false } }); // default minPoints 24
    for (let m = 0; m < 10; m++) minute(short, m, 0.1 + 0.05 * m);
    short.tick(15 * 60, tick);
    assert.deepEqual(short.alerts(), []);
  });

  it('per-VM override of the NIC capacity; host pairs forecast against the link capacity', () => {
    const big = chain({ defaults: { minPoints: 6, horizonDays: 1, hostPairs: false }, overrides: [{ subject: 'web-1', nicCapacityBps: 100_000_000_000 }] });
    for (let m = 0; m < 8; m++) minute(big, m, 0.1 + 0.02 * m);
    big.tick(12 * 60, tick);
    assert.deepEqual(big.alerts(), [], 'on a 100 Gbit/s NIC the same growth is 100x slower');

    const hp = chain({ defaults: { minPoints: 6, horizonDays: 1, vms: false }, overrides: [{ subject: 'h1<->h2', linkCapacityBps: 2_000_000_000 }] });
    for (let m = 0; m < 8; m++) minute(hp, m, 0.1 + 0.02 * m, db);
    hp.tick(12 * 60, tick);
    const got = hp.alerts().filter((a) => a.state === 'open');
    assert.deepEqual(got.map((a) => a.dedup_key), ['capacity_forecast|hp|-|h1<->h2']);
    assert.deepEqual([got[0].host_a, got[0].host_b], ['h1', 'h2']);
    assert.equal(got[0].evidence.slope_per_day, '14.4', 'half the NIC growth on a 2 Gbit/s link');
  });

  it('hysteresis: a forecast that dips out of the horizon for one point stays one alert', () => {
    const c = chain({ defaults: { minPoints: 6, horizonDays: 0.1, minR2: 0, hostPairs: false } });
    // the dip point's peak is the 5 % of the other sub-windows: its fit crosses 80 % in 0.107 days, beyond the 0.1-day horizon
    const peaks = [0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.22, 0.02, 0.26, 0.28, 0.3];
    peaks.forEach((p, m) => minute(c, m, p));
    c.tick(13 * 60, tick);
    const got = c.alerts();
    assert.equal(got[0].state, 'open');
    assert.ok(got.slice(1).every((a) => a.state === 'updated'), `no resolve, no second open: ${states(got).join(', ')}`);
    assert.equal(new Set(got.map((a) => a.id)).size, 1);
    // the dip point was out of the horizon (a clear window): the first update comes after it, at 9 min
    assert.equal(got[1].last_seen_ns, 9n * 60n * S);
  });
});
