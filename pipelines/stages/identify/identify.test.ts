import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { AvroCodec, schemaJson } from '../../../schemas';
import type { VmInventory } from '../../../schemas/vm-inventory';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { VmEvent } from '../../../schemas/vm-event';
import { identifyStage, VM_HOSTS_STORE } from '.';
import { createStage } from '../../registry';
import { loadConfig } from '../../../lib/config';
import { TaplineError } from '../../../lib/errors';
import { flow, vm } from './fixtures';

const S = 1_000_000_000n;
const OUT = 'tapline.flows.identified.v1';
const EV = 'tapline.vm-events.candidates.v1';

function driver() {
  return new TopologyTestDriver(identifyStage({ observationHosts: { 'mon:h1': 'h1', 'mon:h2': 'h2', 'mon:h3': 'h3' } }));
}

describe('identify stage (in-memory driver)', () => {
  it('attributes by time across an IP reuse: later reuse never changes earlier windows', () => {
    const d = driver();
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.0.5'], 100));
    d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h1', ['10.0.0.6'], 100));
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.0.7'], 200)); // vm-01 gives .5 up at 200
    d.pipeGlobal('inventory', 'vm-03', vm('vm-03', 'h2', ['10.0.0.5'], 300, { tenant: 'other' })); // vm-03 takes .5 at 300
    // Windows arrive in any order; a late one from before the reuse included.
    d.pipeInput('k1', flow('10.0.0.5', 40000, '10.0.0.6', 80, 310, 'mon:h2'));
    d.pipeInput('k2', flow('10.0.0.5', 40001, '10.0.0.6', 80, 150, 'mon:h1'));
    d.pipeInput('k3', flow('10.0.0.5', 40002, '10.0.0.6', 80, 250, 'mon:h1'));
    d.pipeInput('k4', flow('10.0.0.5', 40003, '10.0.0.6', 80, 50, 'mon:h1'));
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.equal(out.length, 4);
    const [at310, at150, at250, at50] = out;
    assert.equal(at310.a_vm, 'vm-03'); assert.equal(at310.a_host, 'h2'); assert.equal(at310.a_tenant, 'other');
    assert.equal(at310.b_vm, 'vm-02'); assert.equal(at310.traffic_class, 'inter_host');
    assert.equal(at150.a_vm, 'vm-01', 'before the reuse .5 was vm-01'); assert.equal(at150.a_name, 'vm-01-name');
    assert.equal(at150.traffic_class, 'intra_host');
    assert.equal(at250.a_vm, null, 'between release and reuse nobody held .5'); assert.equal(at250.traffic_class, 'external');
    assert.equal(at50.a_vm, null); assert.equal(at50.b_vm, null, 'before any inventory version');
    assert.equal(at50.traffic_class, 'external');
    // the FlowWindow fields pass through unchanged
    assert.equal(at150.bytes_ab, 1000n); assert.equal(at150.observation_point, 'mon:h1'); assert.equal(at150.observed_host, 'h1');
    assert.equal(d.readOutput(EV).length, 0, 'an IP reuse is not a migration');
  });

  it('classifies intra-host, inter-host and external traffic', () => {
    const d = driver();
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h1', ['10.0.1.2'], 0));
    d.pipeGlobal('inventory', 'vm-03', vm('vm-03', 'h2', ['10.0.2.3', 'fd00::3'], 0));
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.1.2', 80, 10, 'mon:h1'));
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.2.3', 80, 11, 'mon:h1'));
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.2.3', 80, 11, 'mon:h2'));
    d.pipeInput(null, flow('10.0.1.2', 40000, '192.0.2.9', 443, 12, 'mon:h1'));
    d.pipeInput(null, flow('2001:db8::1', 40000, 'fd00::3', 22, 13, 'mon:h2'));
    d.pipeInput(null, flow('192.0.2.1', 1, '192.0.2.2', 2, 14, 'unknown-sensor'));
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.deepEqual(out.map((f) => f.traffic_class), ['intra_host', 'inter_host', 'inter_host', 'external', 'external', 'external']);
    assert.deepEqual([out[1].a_host, out[1].b_host], ['h1', 'h2']);
    assert.equal(out[4].b_vm, 'vm-03', 'IPv6 addresses are index keys too');
    assert.equal(out[5].observed_host, null);
    assert.equal(d.readOutput(EV).length, 0, 'inter-host traffic seen at both hosts is no migration');
  });

  it('a migration in the inventory keeps the VM id, switches the host at valid_from, and is reported once', () => {
    const d = driver();
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeGlobal('inventory', 'vm-03', vm('vm-03', 'h2', ['10.0.2.3'], 0));
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.2.3', 80, 10, 'mon:h1'));
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h2', ['10.0.1.1'], 20)); // moved to h2 at t=20
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.2.3', 80, 15, 'mon:h1')); // before the move
    assert.equal(d.readOutput(EV).length, 0, 'not before stream time reaches the move');
    for (const t of [21, 31, 41]) d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.2.3', 80, t, 'mon:h2'));
    d.endOfStream();
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.deepEqual(out.map((f) => [f.a_vm, f.a_host, f.traffic_class]), [
      ['vm-01', 'h1', 'inter_host'], ['vm-01', 'h1', 'inter_host'],
      ['vm-01', 'h2', 'intra_host'], ['vm-01', 'h2', 'intra_host'], ['vm-01', 'h2', 'intra_host'],
    ]);
    const ev = d.readOutput<VmEvent>(EV);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].key, 'vm-01');
    assert.deepEqual({ ...ev[0].value, at: String(ev[0].value.at) },
      { type: 'migration', vm: 'vm-01', vm_name: 'vm-01-name', from_host: 'h1', to_host: 'h2', at: String(20n * S), source: 'inventory', observation_point: null });
  });

  it('a migration first seen in traffic is reported once, and again not when the inventory catches up', () => {
    const d = driver();
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h1', ['10.0.1.2'], 0));
    d.pipeInput(null, flow('10.0.1.1', 40000, '198.51.100.7', 443, 10, 'mon:h1'));
    // vm-01's traffic with an outside address now shows up at h2's monitor port: it moved
    d.pipeInput(null, flow('10.0.1.1', 40001, '198.51.100.7', 443, 30, 'mon:h2'));
    d.pipeInput(null, flow('10.0.1.1', 40002, '198.51.100.7', 443, 35, 'mon:h2'));
    d.pipeInput(null, flow('10.0.1.1', 40003, '10.0.1.2', 80, 36, 'mon:h2')); // to vm-02 (still h1): seen at h2 = consistent
    // the inventory learns of it later, with a valid_from after the traffic
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h2', ['10.0.1.1'], 40));
    d.pipeInput(null, flow('10.0.1.1', 40004, '198.51.100.7', 443, 45, 'mon:h2'));
    d.endOfStream();
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.deepEqual(out.map((f) => [f.a_vm, f.a_host]), [['vm-01', 'h1'], ['vm-01', 'h2'], ['vm-01', 'h2'], ['vm-01', 'h2'], ['vm-01', 'h2']]);
    assert.equal(out[3].traffic_class, 'inter_host');
    const ev = d.readOutput<VmEvent>(EV).map((e) => e.value);
    assert.equal(ev.length, 1, JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(ev[0].source, 'traffic');
    assert.equal(ev[0].from_host, 'h1'); assert.equal(ev[0].to_host, 'h2'); assert.equal(ev[0].at, 30n * S);
    assert.equal(ev[0].observation_point, 'mon:h2');
    assert.equal(d.store<{ host: string }>(VM_HOSTS_STORE).get('vm-01')?.host, 'h2');
  });

  it('two VMs both seen away from their hosts is ambiguous: counted, no event', () => {
    const d = driver();
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h1', ['10.0.1.2'], 0));
    d.pipeInput(null, flow('10.0.1.1', 40000, '10.0.1.2', 80, 10, 'mon:h3'));
    assert.equal(d.readOutput(EV).length, 0);
    assert.equal(d.metrics.droppedByReason.get('ambiguous-sighting'), 1);
    assert.equal(d.readOutput<IdentifiedFlow>(OUT)[0].value.a_host, 'h1');
  });

  it('maps an observation point to an inventory host by its parts when not configured', () => {
    const d = new TopologyTestDriver(identifyStage());
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeInput(null, flow('10.0.1.1', 40000, '198.51.100.7', 443, 10, 'lab:h1'));
    d.pipeInput(null, flow('10.0.1.1', 40000, '198.51.100.7', 443, 10, 'file:x.pcap'));
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.deepEqual(out.map((f) => f.observed_host), ['h1', null]);
  });

  it('schemas: identified-flow.v1 starts with every flow-window.v1 field, and the records round-trip', () => {
    const fw = (schemaJson('flow-window.v1') as { fields: { name: string }[] }).fields.map((f) => f.name);
    const idf = (schemaJson('identified-flow.v1') as { fields: { name: string }[] }).fields.map((f) => f.name);
    assert.deepEqual(idf.slice(0, fw.length), fw);
    const inv = vm('vm-01', 'h1', ['10.0.1.1'], 5);
    const c = new AvroCodec<VmInventory>('vm-inventory.v1');
    assert.deepEqual({ ...c.decode(c.encode(inv)) }, { ...inv, nic_capacity_bps: 10_000_000_000n, valid_from_ns: 5n * S });
    assert.deepEqual(Object.keys(inv), (schemaJson('vm-inventory.v1') as { fields: { name: string }[] }).fields.map((f) => f.name));
    const ev: VmEvent = { type: 'migration', vm: 'v', vm_name: null, from_host: 'a', to_host: 'b', at: 1n, source: 'traffic', observation_point: 'x' };
    assert.deepEqual(Object.keys(ev), (schemaJson('vm-event.v1') as { fields: { name: string }[] }).fields.map((f) => f.name));
  });

  it('is configured from stages.identify / stages.rollup / stages.vm-events, typos named', () => {
    const cfg = loadConfig(undefined, {}, {});
    const def = createStage('identify', { ...cfg, stages: { identify: { observationHosts: { 'live:hv1:mon0': 'hv1' } } } });
    assert.equal(def.input.topic, cfg.topics.flows);
    assert.deepEqual(Object.keys(def.outputs), ['tapline.flows.identified.v1', 'tapline.vm-events.candidates.v1']);
    assert.equal(def.globals?.[0].topic, 'tapline.inventory.v1');
    assert.equal(createStage('rollup', cfg).input.topic, 'tapline.flows.identified.v1');
    assert.equal(Object.keys(createStage('vm-events', cfg).outputs)[0], 'tapline.vm-events.v1');
    assert.throws(() => createStage('identify', { ...cfg, stages: { identify: { observationHost: {} } } }),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /observationHost/.test(e.message));
  });
});

describe('identify stage: review regressions', () => {
  it('an unlisted observation point maps to the FIRST of its parts that is an inventory host', () => {
    const d = new TopologyTestDriver(identifyStage());
    d.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    d.pipeGlobal('inventory', 'vm-02', vm('vm-02', 'h2', ['10.0.1.2'], 0));
    // the capture on h1 of its interface named after the peer host h2
    d.pipeInput(null, flow('10.0.1.1', 40000, '198.51.100.7', 443, 10, 'live:h1:h2'));
    const out = d.readOutput<IdentifiedFlow>(OUT).map((o) => o.value);
    assert.deepEqual(out.map((f) => f.observed_host), ['h1']);
    assert.equal(d.readOutput(EV).length, 0, 'vm-01 seen at its own host is no migration');
  });
});
