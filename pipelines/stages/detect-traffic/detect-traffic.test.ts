import assert from 'node:assert/strict';
import { Chain, ext, iflow, S, states, vmRef, type VmRef } from '../../alerting/testing';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import { rekeyFlowsStage } from '../detect-rekey-flows';
import { detectTrafficStage } from '.';

const web = vmRef('web-1', '10.0.0.10', 'h1');
const db = vmRef('db-1', '10.0.0.20', 'h2');
const cache = vmRef('cache-1', '10.0.0.40', 'h2');
const tick = (_p: number, sec: number) => iflow(ext('192.0.2.1'), 40000, ext('192.0.2.2'), 443, sec);

/** Deterministic noise in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

function chain(cfg: Record<string, unknown> = {}): Chain<IdentifiedFlow> {
  return new Chain(rekeyFlowsStage(), detectTrafficStage(cfg));
}

/** web-1 -> db-1:5432, 400-600 kB per 10 s window (40-60 kB/s), seen at both hosts' monitors. */
function normalWindow(c: Chain<IdentifiedFlow>, sec: number, rnd: () => number, bytes?: number, from: VmRef = web, to: VmRef = db): void {
  const total = bytes ?? Math.round(400_000 + rnd() * 200_000);
  for (const op of ['mon:h1', 'mon:h2']) c.push(iflow(from, 40000 + (sec % 1000), to, 5432, sec, { bytesFwd: Math.round(total * 0.2), bytesRev: Math.round(total * 0.8), syn: 1, synack: 1, op }));
}

describe('detect-traffic: bursts (driver, 4 partitions, behind detect-rekey-flows)', () => {
  it('normal variability raises nothing', () => {
    const c = chain();
    const rnd = prng(1);
    for (let sec = 0; sec < 1500; sec += 10) normalWindow(c, sec, rnd);
    c.tick(1600, tick);
    assert.deepEqual(states(c.alerts()), []);
    // the baseline learned ~50 kB/s (both copies of each flow counted once)
    const all = [0, 1, 2, 3].flatMap((p) => [...c.detector.store<{ level: number; n: number }>('traffic-baselines', p)]);
    const pair = all.find(([k]) => k === 'pair|acme|web-1->db-1')!;
    assert.ok(pair, all.map(([k]) => k).join(' '));
    assert.ok(pair[1].level > 40_000 && pair[1].level < 60_000, `level ${pair[1].level}`);
    assert.equal(pair[1].n, 150);
  });

  it('a burst after warm-up: one alert per VM and for the pair, with baseline evidence; resolved after recovery', () => {
    const c = chain();
    const rnd = prng(2);
    for (let sec = 0; sec < 600; sec += 10) normalWindow(c, sec, rnd);
    normalWindow(c, 600, rnd, 50_000_000); // 5 MB/s
    normalWindow(c, 610, rnd, 40_000_000); // still bursting: not a material change (-20 %), no update
    for (let sec = 620; sec < 800; sec += 10) normalWindow(c, sec, rnd);
    c.tick(900, tick);
    const got = c.alerts();
    assert.deepEqual(got.map((a) => `${a.state} ${a.dedup_key}`).sort(), [
      'open traffic_burst|acme|db-1', 'open traffic_burst|acme|web-1', 'open traffic_burst|acme|web-1->db-1',
      'resolved traffic_burst|acme|db-1', 'resolved traffic_burst|acme|web-1', 'resolved traffic_burst|acme|web-1->db-1',
    ]);
    const pair = got.find((a) => a.dedup_key === 'traffic_burst|acme|web-1->db-1' && a.state === 'open')!;
    assert.equal(pair.value, 5_000_000);
    assert.ok(pair.baseline! > 40_000 && pair.baseline! < 60_000, `baseline ${pair.baseline}`);
    assert.ok(pair.threshold! > pair.baseline! && pair.threshold! < 200_000);
    assert.equal(pair.severity, 'critical');
    assert.deepEqual([pair.vm_a, pair.vm_b, pair.host_a, pair.host_b], ['web-1', 'db-1', 'h1', 'h2']);
    assert.match(pair.summary, /web-1 -> db-1: 5\.0 MB\/s, baseline \d+(\.\d)? kB\/s \(\d+x\)/);
    assert.equal(pair.first_seen_ns, 610n * S);
    const res = got.find((a) => a.dedup_key === pair.dedup_key && a.state === 'resolved')!;
    assert.equal(res.last_seen_ns, 620n * S);
    assert.equal(res.updated_ns, 650n * S);
  });

  it('warm-up: the same burst before the series learned 30 windows raises nothing', () => {
    const c = chain();
    const rnd = prng(3);
    for (let sec = 0; sec < 200; sec += 10) normalWindow(c, sec, rnd);
    normalWindow(c, 200, rnd, 50_000_000);
    for (let sec = 210; sec < 300; sec += 10) normalWindow(c, sec, rnd);
    c.tick(400, tick);
    assert.deepEqual(c.alerts(), []);
  });

  it('a burst is clipped into the baseline: a second burst later still alerts', () => {
    const c = chain({ defaults: { newPairs: false } });
    const rnd = prng(4);
    for (let sec = 0; sec < 600; sec += 10) normalWindow(c, sec, rnd);
    for (let sec = 600; sec < 660; sec += 10) normalWindow(c, sec, rnd, 50_000_000); // 6 windows
    for (let sec = 660; sec < 800; sec += 10) normalWindow(c, sec, rnd);
    normalWindow(c, 800, rnd, 50_000_000);
    for (let sec = 810; sec < 900; sec += 10) normalWindow(c, sec, rnd);
    c.tick(1000, tick);
    const pair = c.alerts().filter((a) => a.dedup_key === 'traffic_burst|acme|web-1->db-1');
    assert.deepEqual(states(pair), ['traffic_burst open', 'traffic_burst resolved', 'traffic_burst open', 'traffic_burst resolved']);
    assert.ok(pair[2].baseline! < 200_000, `baseline after six burst windows stays low: ${pair[2].baseline}`);
  });

  it('per-pair and per-tenant overrides', () => {
    const c = chain({ overrides: [{ subject: 'web-1->db-1', bursts: false }, { tenant: 'acme', subject: 'db-1', sensitivity: 1000 }] });
    const rnd = prng(5);
    for (let sec = 0; sec < 600; sec += 10) normalWindow(c, sec, rnd);
    normalWindow(c, 600, rnd, 50_000_000);
    c.tick(700, tick);
    assert.deepEqual(c.alerts().filter((a) => a.state === 'open').map((a) => a.dedup_key), ['traffic_burst|acme|web-1']);
  });

  it('hysteresis: a burst flapping on and off is one alert', () => {
    const c = chain();
    const rnd = prng(6);
    for (let sec = 0; sec < 600; sec += 10) normalWindow(c, sec, rnd);
    [1, 0, 1, 0, 0, 1, 0, 0, 0, 0].forEach((on, i) => normalWindow(c, 600 + i * 10, rnd, on ? 10_000_000 : undefined));
    c.tick(800, tick);
    const pair = c.alerts().filter((a) => a.dedup_key === 'traffic_burst|acme|web-1->db-1');
    assert.deepEqual(states(pair), ['traffic_burst open', 'traffic_burst resolved']);
  });
});

describe('detect-traffic: new pairs', () => {
  const learn = { defaults: { newPairLearningMs: 60_000, bursts: false } };

  it('a pair never seen after the learning period opens one new_pair alert, resolved after the hysteresis', () => {
    const c = chain(learn);
    const rnd = prng(7);
    for (let sec = 0; sec < 200; sec += 10) normalWindow(c, sec, rnd);
    normalWindow(c, 30, rnd, undefined, web, vmRef('app-1', '10.0.0.30', 'h1')); // during learning: learned silently
    normalWindow(c, 200, rnd, undefined, web, cache);
    for (let sec = 210; sec < 300; sec += 10) { normalWindow(c, sec, rnd); normalWindow(c, sec, rnd, undefined, web, cache); }
    c.tick(400, tick);
    const got = c.alerts();
    assert.deepEqual(states(got), ['new_pair open', 'new_pair resolved']);
    assert.equal(got[0].dedup_key, 'new_pair|acme|web-1->cache-1');
    assert.deepEqual([got[0].vm_a, got[0].vm_b, got[0].tenant, got[0].severity], ['web-1', 'cache-1', 'acme', 'warning']);
    assert.equal(got[0].evidence.dst_port, '5432');
    assert.equal(got[0].evidence.first_seen, '1970-01-01T00:03:20.000Z');
  });

  it('a VM that migrated to another host (new host, new monitor) is not a new pair', () => {
    const c = chain(learn);
    const rnd = prng(8);
    for (let sec = 0; sec < 200; sec += 10) normalWindow(c, sec, rnd);
    const moved = vmRef('db-1', '10.0.0.20', 'h3'); // same VM id, another host
    for (let sec = 200; sec < 300; sec += 10) {
      for (const op of ['mon:h1', 'mon:h3']) c.push(iflow(web, 40000 + sec, moved, 5432, sec, { syn: 1, synack: 1, op }));
    }
    c.tick(400, tick);
    assert.deepEqual(c.alerts(), []);
    // ... while the same VM talking to a VM it never met is one
    c.push(iflow(web, 41000, cache, 6379, 400, { syn: 1, synack: 1 }));
    c.tick(500, tick);
    assert.deepEqual(c.alerts().map((a) => `${a.state} ${a.dedup_key}`), ['open new_pair|acme|web-1->cache-1', 'resolved new_pair|acme|web-1->cache-1']);
  });

  it('per tenant: the learning period and the switch are per tenant; a new source VM learns first', () => {
    const other = vmRef('web-9', '10.1.0.10', 'h1', 'lab');
    const otherDb = vmRef('db-9', '10.1.0.20', 'h2', 'lab');
    const run = (cfg: Record<string, unknown>) => {
      const c = chain(cfg);
      const rnd = prng(9);
      for (let sec = 0; sec < 200; sec += 10) { normalWindow(c, sec, rnd); normalWindow(c, sec, rnd, undefined, other, otherDb); }
      normalWindow(c, 200, rnd, undefined, other, vmRef('cache-9', '10.1.0.40', 'h2', 'lab'));
      normalWindow(c, 200, rnd, undefined, vmRef('new-1', '10.0.0.99', 'h1'), db); // a new acme VM: its first minute is learning
      c.tick(300, tick);
      return c.alerts().filter((a) => a.state === 'open').map((a) => a.dedup_key);
    };
    assert.deepEqual(run(learn), ['new_pair|lab|web-9->cache-9']);
    assert.deepEqual(run({ ...learn, overrides: [{ tenant: 'lab', newPairs: false }] }), []);
  });
});

describe('detect-traffic: review regressions', () => {
  it('windows without traffic are learned as zeros once, not twice (baseline n and warm-up)', () => {
    const c = chain();
    const rnd = prng(7);
    normalWindow(c, 0, rnd);
    normalWindow(c, 200, rnd); // 19 empty windows in between
    c.tick(400, tick);
    const all = [0, 1, 2, 3].flatMap((p) => [...c.detector.store<{ level: number; n: number }>('traffic-baselines', p)]);
    const pair = all.find(([k]) => k === 'pair|acme|web-1->db-1')!;
    assert.equal(pair[1].n, 1 + 19 + 1, 'window 0, 19 zero windows, window 200');
  });
});
