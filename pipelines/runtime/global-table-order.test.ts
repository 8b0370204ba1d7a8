/**
 * The header of global-table.ts: versions are ordered by their own event time, "so the answer
 * does not depend on the order updates arrived in".
 */
import assert from 'node:assert/strict';
import { GlobalTable } from './global-table';

interface Vm { id: string; host: string; ips: string[]; since: bigint }
const spec = { name: 'inventory', topic: 't', schema: 's', timestampOf: (v: Vm) => v.since, indexKeys: (v: Vm) => v.ips };

describe('versioned global table: arrival order', () => {
  it('an older version arriving late does not hold its index keys past the newer version that released them', () => {
    const v1: Vm = { id: 'vm-a', host: 'h1', ips: ['10.0.0.5'], since: 100n };
    const v2: Vm = { id: 'vm-a', host: 'h1', ips: ['10.0.0.6'], since: 500n }; // moved from .5 to .6 at 500
    const inOrder = new GlobalTable<Vm>(spec), late = new GlobalTable<Vm>(spec);
    inOrder.apply('vm-a', v1, 0n); inOrder.apply('vm-a', v2, 0n);
    late.apply('vm-a', v2, 0n); late.apply('vm-a', v1, 0n);
    for (const [ip, ts] of [['10.0.0.5', 50n], ['10.0.0.5', 200n], ['10.0.0.5', 600n], ['10.0.0.6', 200n], ['10.0.0.6', 600n]] as const) {
      assert.equal(late.lookup(ip, ts)?.key, inOrder.lookup(ip, ts)?.key, `${ip} at ${ts}`);
    }
  });

  it('a release recorded late does not hide another key that took the index key at the same time', () => {
    const t = new GlobalTable<Vm>(spec);
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.6'], since: 500n }, 0n); // a moved to .6 at 500
    t.apply('vm-b', { id: 'vm-b', host: 'h2', ips: ['10.0.0.5'], since: 500n }, 0n); // b took .5 at 500
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.5'], since: 100n }, 0n); // a's older version, late
    assert.equal(t.lookup('10.0.0.5', 200n)?.key, 'vm-a');
    assert.equal(t.lookup('10.0.0.5', 500n)?.key, 'vm-b');
    assert.equal(t.lookup('10.0.0.5', 600n)?.key, 'vm-b');
  });
});
