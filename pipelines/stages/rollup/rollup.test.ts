import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { schemaJson } from '../../../schemas';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { Rollup } from '../../../schemas/rollup';
import { ROLLUP_DIMENSIONS } from '../../../schemas/rollup';
import { identifyStage } from '../identify';
import { flow, vm } from '../identify/fixtures';
import { rollupStage } from '.';

const S = 1_000_000_000n;

/** Identified flows made by the real identify stage from a small inventory. */
function identified(): IdentifiedFlow[] {
  const d = new TopologyTestDriver(identifyStage({ observationHosts: { 'mon:h1': 'h1', 'mon:h2': 'h2' } }));
  d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0, { tenant: 'acme' }));
  d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h1', ['10.0.1.2'], 0, { tenant: 'acme' }));
  d.pipeGlobal('inventory', 'vm-03', vm('vm-03', 'h2', ['10.0.2.3'], 0, { tenant: 'globex' }));
  const n = (p: number, b: number) => ({ packets_ab: BigInt(p), bytes_ab: BigInt(b), packets_ba: BigInt(p * 2), bytes_ba: BigInt(b * 3) });
  // window 10..20
  d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.1.2', 80, 11, 'mon:h1', n(3, 300)));        // intra h1, client vm-01
  d.pipeInput(null, flow('10.0.1.1', 40001, '10.0.2.3', 443, 12, 'mon:h1', n(7, 700)));       // inter, seen at h1 ...
  d.pipeInput(null, flow('10.0.1.1', 40001, '10.0.2.3', 443, 12.001, 'mon:h2', n(6, 600)));   // ... and at h2 (one lost there)
  d.pipeInput(null, flow('10.0.2.3', 53, '10.0.2.3', 53, 13, 'mon:h2', { ...n(1, 90), ip_proto: 17 }));
  d.pipeInput(null, flow('10.0.1.2', 40002, '203.0.113.5', 443, 14, 'mon:h1', n(4, 400)));    // external
  d.pipeInput(null, flow('10.0.1.1', 0, '10.0.2.3', 0, 15, 'mon:h1', { ...n(2, 84), ip_proto: 1 }));
  // window 20..30
  d.pipeInput(null, flow('10.0.1.2', 80, '10.0.2.3', 50000, 21, 'mon:h2', n(5, 500)));        // service on a (port 80): client vm-03
  d.endOfStream();
  return d.readOutput<IdentifiedFlow>('tapline.flows.identified.v1').map((o) => o.value);
}

describe('rollup stage (in-memory driver)', () => {
  it('per window and dimension, totals equal the sum of the (deduplicated) flows', () => {
    const flows = identified();
    assert.equal(flows.length, 7);
    const d = new TopologyTestDriver(rollupStage({ allowedLatenessMs: 0 }));
    for (const f of flows) d.pipeInput(f.flow_key, f);
    d.endOfStream();
    const rolls = d.readOutput<Rollup>('tapline.rollups.v1').map((o) => o.value);
    assert.equal(d.metrics.droppedByReason.get('duplicate-observation'), 1, 'the h2 copy of the inter-host flow is not counted');

    // Expected: the flows counted once each (the inter-host flow by its h1 copy, which has more packets).
    const counted = flows.filter((f) => !(f.observation_point === 'mon:h2' && f.port_b === 443));
    for (const w of [10n * S, 20n * S]) {
      const inW = counted.filter((f) => f.window_start_ns === w);
      const total = inW.reduce((t, f) => t + BigInt(f.packets_ab) + BigInt(f.packets_ba), 0n);
      const bytes = inW.reduce((t, f) => t + BigInt(f.bytes_ab) + BigInt(f.bytes_ba), 0n);
      for (const dim of ROLLUP_DIMENSIONS.filter((x) => x !== 'tenant')) {
        const rs = rolls.filter((r) => r.window_start_ns === w && r.dimension === dim);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.packets_fwd) + BigInt(r.packets_rev), 0n), total, `${dim} packets in ${w}`);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.bytes_fwd) + BigInt(r.bytes_rev), 0n), bytes, `${dim} bytes in ${w}`);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.flows), 0n), BigInt(inW.length), `${dim} flows in ${w}`);
      }
      // tenant: each tenant's total is the sum of the flows touching it
      for (const r of rolls.filter((x) => x.window_start_ns === w && x.dimension === 'tenant')) {
        const mine = inW.filter((f) => f.a_tenant === r.key || f.b_tenant === r.key || (r.key === 'unknown' && !f.a_tenant && !f.b_tenant));
        assert.equal(r.flows, BigInt(mine.length), `tenant ${r.key}`);
        assert.equal(BigInt(r.packets_fwd) + BigInt(r.packets_rev), mine.reduce((t, f) => t + BigInt(f.packets_ab) + BigInt(f.packets_ba), 0n));
      }
    }
    const get = (w: bigint, dim: string, key: string) => rolls.find((r) => r.window_start_ns === w && r.dimension === dim && r.key === key);
    // directions: client -> service
    const pair = get(10n * S, 'vm_pair', 'vm-01->vm-03')!;
    assert.deepEqual([pair.flows, pair.packets_fwd, pair.bytes_fwd], [2n, 7n + 2n, 700n + 84n], 'tcp/443 (h1 copy) + icmp; fwd = a->b');
    assert.deepEqual([pair.packets_rev, pair.bytes_rev], [14n + 4n, 2100n + 252n]);
    assert.equal(get(20n * S, 'vm_pair', 'vm-03->vm-02')?.packets_fwd, 10n, 'service on a: fwd = b->a');
    assert.equal(get(10n * S, 'dst_vm', 'external')?.flows, 1n);
    assert.equal(get(10n * S, 'host_pair', 'h1->h2')?.flows, 2n);
    assert.equal(get(10n * S, 'host_pair', 'h1->h1')?.flows, 1n);
    assert.equal(get(10n * S, 'host_pair', 'h1->external')?.flows, 1n);
    assert.equal(get(10n * S, 'service_port', 'tcp/443')?.flows, 2n);
    assert.equal(get(10n * S, 'service_port', 'icmp')?.flows, 1n);
    assert.equal(get(10n * S, 'service_port', 'udp/53')?.flows, 1n);
    assert.equal(get(10n * S, 'protocol', 'tcp')?.flows, 3n);
    assert.equal(get(10n * S, 'tenant', 'acme')?.flows, 4n);
    assert.equal(get(10n * S, 'tenant', 'globex')?.flows, 3n);
    assert.equal(d.store('rollup-flows').size, 0, 'closed windows leave no state');
  });

  it('emits a window only after stream time passes its end plus the lateness; a late flow adds a partial record', () => {
    const flows = identified();
    const d = new TopologyTestDriver(rollupStage({ allowedLatenessMs: 10_000 }));
    const w10 = flows.filter((f) => f.window_start_ns === 10n * S);
    for (const f of w10.slice(1)) d.pipeInput(f.flow_key, f);
    d.pipeInput(null, flows.find((f) => f.window_start_ns === 20n * S)!);
    assert.equal(d.readOutput('tapline.rollups.v1').length, 0, 'window 10..20 still open at stream time 20');
    d.pipeInput(null, { ...w10[0], window_start_ns: 30n * S, window_end_ns: 40n * S, first_seen_ns: 31n * S, last_seen_ns: 32n * S });
    const first = d.readOutput<Rollup>('tapline.rollups.v1').map((o) => o.value);
    assert.ok(first.length > 0 && first.every((r) => r.window_start_ns === 10n * S));
    d.pipeInput(w10[0].flow_key, w10[0]); // late for window 10
    d.pipeInput(null, { ...w10[0], window_start_ns: 40n * S, window_end_ns: 50n * S, first_seen_ns: 41n * S, last_seen_ns: 42n * S });
    const more = d.readOutput<Rollup>('tapline.rollups.v1').map((o) => o.value);
    const late = more.filter((r) => r.window_start_ns === 10n * S);
    assert.equal(late.find((r) => r.dimension === 'protocol')?.flows, 1n, 'the late flow, as an extra partial record');
  });

  it('the Rollup record has exactly the schema\'s fields', () => {
    const r: Rollup = { window_start_ns: 0n, window_end_ns: 1n, dimension: 'tenant', key: 'k', packets_fwd: 0n, bytes_fwd: 0n, packets_rev: 0n, bytes_rev: 0n, flows: 0n, source_partition: 0 };
    assert.deepEqual(Object.keys(r), (schemaJson('rollup.v1') as { fields: { name: string }[] }).fields.map((f) => f.name));
  });
});
