import assert from 'node:assert/strict';
import { GlobalTable } from './global-table';

interface Vm { id: string; host: string; ips: string[]; since: bigint }

const spec = { name: 'inventory', topic: 't', schema: 's', timestampOf: (v: Vm) => v.since, indexKeys: (v: Vm) => v.ips, maxVersions: 4 };

describe('versioned global table', () => {
  it('answers which record held an index key at a time, and IP reuse never rewrites history', () => {
    const t = new GlobalTable<Vm>(spec);
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.5'], since: 100n }, 0n);
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.6'], since: 200n }, 0n); // a moves to .6, releasing .5
    t.apply('vm-b', { id: 'vm-b', host: 'h2', ips: ['10.0.0.5'], since: 300n }, 0n); // b reuses .5 later
    assert.equal(t.lookup('10.0.0.5', 50n), undefined, 'before anyone held it');
    assert.equal(t.lookup('10.0.0.5', 150n)?.key, 'vm-a');
    assert.equal(t.lookup('10.0.0.5', 250n), undefined, 'released by a at 200');
    assert.equal(t.lookup('10.0.0.5', 300n)?.key, 'vm-b');
    assert.equal(t.lookup('10.0.0.6', 250n)?.key, 'vm-a');
    assert.equal(t.get('vm-a')?.ips[0], '10.0.0.6');
  });

  it('keeps identity through a migration and orders versions by their own time, not arrival', () => {
    const t = new GlobalTable<Vm>(spec);
    t.apply('vm-a', { id: 'vm-a', host: 'h2', ips: ['10.0.0.5'], since: 500n }, 0n); // migrated, arrives first
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.5'], since: 100n }, 0n); // older version arrives late
    assert.equal(t.lookup('10.0.0.5', 200n)?.value.host, 'h1');
    assert.equal(t.lookup('10.0.0.5', 600n)?.value.host, 'h2');
    assert.equal(t.get('vm-a')?.host, 'h2', 'the newest version stays current');
  });

  it('handles tombstones and bounds the history per index key', () => {
    const t = new GlobalTable<Vm>(spec);
    t.apply('vm-a', { id: 'vm-a', host: 'h1', ips: ['10.0.0.5'], since: 100n }, 0n);
    t.apply('vm-a', null, 150n);
    assert.equal(t.lookup('10.0.0.5', 120n)?.key, 'vm-a');
    assert.equal(t.lookup('10.0.0.5', 160n), undefined);
    assert.equal(t.size, 0);
    for (let i = 0; i < 10; i++) t.apply(`vm-${i}`, { id: `vm-${i}`, host: 'h', ips: ['10.9.9.9'], since: BigInt(1000 + i) }, 0n);
    assert.equal(t.history('10.9.9.9').length, 4);
    assert.equal(t.lookup('10.9.9.9', 2000n)?.key, 'vm-9');
  });
});
