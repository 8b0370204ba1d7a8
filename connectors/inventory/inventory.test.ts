/**
 * inventory-file connector without a broker (a fake producer that records what is sent):
 * validation, change detection, tombstones, file watching (fs.watch and the polling fallback),
 * and the virsh source on real virsh output recorded from libvirt's test hypervisor.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, OutMessage } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import type { VmInventory } from '../../schemas/vm-inventory';
import { createConnector } from '../registry';
import { InventoryConfigSchema, VirshConfigSchema } from './config';
import { parseInventory } from './entries';
import { InventoryConnector } from './inventory';
import { parseDomifaddr, parseDomiflist, parseVirshList, VirshSource } from './virsh';

const codec = new AvroCodec<VmInventory>('vm-inventory.v1');
const FIX = path.join(__dirname, 'fixtures', 'virsh');

class FakeProducer {
  sent: OutMessage[] = [];
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async send(_topic: string, messages: OutMessage[]): Promise<void> { this.sent.push(...messages); }
  take(): { key: string; value: VmInventory | null }[] {
    const out = this.sent.map((m) => ({ key: String(m.key), value: m.value === null ? null : codec.decode(m.value) }));
    this.sent = [];
    return out;
  }
}

function fakeKafka(p: FakeProducer): KafkaClient {
  return {
    producer: () => p, ensureTopics: async () => undefined, endOffsets: async () => new Map(), offsetRanges: async () => new Map(),
  } as unknown as KafkaClient;
}

const LAB_YAML = `
vms:
  - id: vm1
    host: h1
    macs: [02:77:00:00:00:01]
    ips: [10.77.1.11]
    tenant: acme
    project: web
    subnet: 10.77.1.0/24
    nicCapacityBps: 10G
  - {id: vm2, name: db, host: h1, mac: "02-77-00-00-00-02", ip: 10.77.1.12, tenant: acme}
  - {id: vm3, host: h2, macs: ["02:77:00:00:00:03"], ips: [10.77.2.13, "2001:DB8:0:0:0:0:0:13"], nic_capacity_bps: 25000000000}
  - {id: vm4, host: h2, ips: [10.77.2.14], since: "2026-11-28T10:00:00.123456789Z"}
`;

function tmpFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-inv-'));
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

function invalid(re: RegExp) {
  return (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && re.test(e.message);
}

describe('inventory-file connector', () => {
  it('is registered as inventory-file and validates its configuration', () => {
    const k = fakeKafka(new FakeProducer());
    assert.throws(() => createConnector('inventory-file', { path: 'x.yaml', pollMs: 5 }, k), invalid(/pollMs/));
    assert.throws(() => createConnector('inventory-file', {}, k), invalid(/path: required/));
    assert.equal(createConnector('inventory-file', { path: 'x.yaml' }, k).type, 'inventory-file');
  });

  it('parses and normalizes entries (MACs, IPv6, rates, since with nanoseconds)', () => {
    const e = parseInventory(LAB_YAML, 'lab.yaml');
    assert.equal(e.length, 4);
    assert.deepEqual(e[0], { id: 'vm1', name: 'vm1', host: 'h1', macs: ['02:77:00:00:00:01'], ips: ['10.77.1.11'], tenant: 'acme', project: 'web',
      subnet: '10.77.1.0/24', nicCapacityBps: 10_000_000_000n, since: null });
    assert.equal(e[1].name, 'db'); assert.deepEqual(e[1].macs, ['02:77:00:00:00:02']); assert.deepEqual(e[1].ips, ['10.77.1.12']);
    assert.deepEqual(e[2].ips, ['10.77.2.13', '2001:db8::13']);
    assert.equal(e[2].nicCapacityBps, 25_000_000_000n);
    assert.equal(e[3].since, BigInt(Date.parse('2026-11-28T10:00:00Z')) * 1_000_000n + 123_456_789n);
    assert.deepEqual(parseInventory(JSON.stringify([{ id: 7, host: 'h', ips: ['10.0.0.1/24'] }]), 'inv.json')[0].ips, ['10.0.0.1']);
  });

  it('an invalid file is an error naming the entry and field', () => {
    const cases: [string, RegExp][] = [
      ['vms:\n  - {id: a, host: h1}\n  - {id: b, host: h1, ips: [10.0.0.300]}', /lab\.yaml: vms\[1\] \(id "b"\): ips\[0\]: "10\.0\.0\.300" is not an IP address; nothing published/],
      ['vms:\n  - {id: a, host: h1, hots: x}', /vms\[0\] \(id "a"\): \(entry\): unknown key\(s\) hots/],
      ['vms:\n  - {id: a}', /vms\[0\] \(id "a"\): host: Required/],
      ['vms:\n  - {id: a, host: h, ips: [10.0.0.1]}\n  - {id: b, host: h, ips: [10.0.0.1]}', /vms\[1\] \(id "b"\): IP 10\.0\.0\.1 is also held by vms\[0\]/],
      ['vms:\n  - {id: a, host: h}\n  - {id: a, host: h}', /vms\[1\] \(id "a"\): id "a" is also vms\[0\]/],
      ['vms:\n  - {id: a, host: h, macs: [02:77:00]}', /macs\[0\]: "02:77:00" is not a MAC address/],
      ['vms:\n  - {id: a, host: h, nicCapacityBps: fast}', /nicCapacityBps: "fast" is not a rate/],
      ['vms:\n  - {id: a, host: h, since: yesterday}', /since: "yesterday" is neither ISO 8601/],
      ['vms: [ {id: a', /not YAML/],
      ['vms: 3', /expected a list of VMs/],
    ];
    for (const [text, re] of cases) assert.throws(() => parseInventory(text, 'lab.yaml'), invalid(re), text);
  });

  it('publishes every VM at start, then only changes (new version at now or the given since) and tombstones', async () => {
    const p = new FakeProducer();
    const file = tmpFile('lab.yaml', LAB_YAML);
    let now = 1_000n;
    const c = new InventoryConnector(InventoryConfigSchema.parse({ path: file, watch: false }), fakeKafka(p), { now: () => now });
    await c.start();
    const first = p.take();
    assert.deepEqual(first.map((m) => m.key), ['vm1', 'vm2', 'vm3', 'vm4']);
    assert.deepEqual(first.map((m) => m.value!.valid_from_ns), [1000n, 1000n, 1000n, BigInt(Date.parse('2026-11-28T10:00:00Z')) * 1_000_000n + 123_456_789n]);
    assert.equal(first[0].value!.nic_capacity_bps, 10_000_000_000n);
    assert.equal((await c.done()).packets, 4);

    now = 2_000n;
    await c.reloadNow();
    assert.deepEqual(p.take(), [], 'unchanged file: nothing published');

    // vm2 migrates to h2, vm4 is removed, vm5 is new with an explicit since
    fs.writeFileSync(file, LAB_YAML.replace('name: db, host: h1', 'name: db, host: h2').replace(/  - \{id: vm4.*\n/, '')
      + '  - {id: vm5, host: h1, ips: [10.77.1.15], since: 1500}\n');
    now = 3_000n;
    await c.reloadNow();
    const second = p.take();
    assert.deepEqual(second.map((m) => [m.key, m.value?.host ?? null, m.value?.valid_from_ns ?? null]),
      [['vm2', 'h2', 3000n], ['vm5', 'h1', 1500n], ['vm4', null, null]]);
    assert.equal(second[0].value!.vm_id, 'vm2', 'same identity after a migration');

    // an invalid edit publishes nothing and keeps the last valid state; a fix publishes again
    const errors: TaplineError[] = [];
    c.on('invalid', (e: TaplineError) => errors.push(e));
    fs.writeFileSync(file, LAB_YAML.replace('10.77.1.12', '10.77.1.11'));
    await c.reloadNow();
    assert.deepEqual(p.take(), []);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /vms\[1\] \(id "vm2"\): IP 10\.77\.1\.11 is also held by vms\[0\]/);
    assert.equal(c.metrics.totals.errors, 1);
    assert.equal(c.published.get('vm2')!.host, 'h2');
    now = 4_000n;
    fs.writeFileSync(file, LAB_YAML);
    await c.reloadNow();
    assert.deepEqual(p.take().map((m) => [m.key, m.value?.host ?? null, m.value?.valid_from_ns ?? null]),
      [['vm2', 'h1', 4000n], ['vm4', 'h2', BigInt(Date.parse('2026-11-28T10:00:00Z')) * 1_000_000n + 123_456_789n], ['vm5', null, null]]);
    await c.close();
  });

  it('an invalid file at start fails start() naming the entry and publishes nothing', async () => {
    const p = new FakeProducer();
    const file = tmpFile('bad.json', JSON.stringify({ vms: [{ id: 'vm1', host: 'h1' }, { id: 'vm2', host: 'h1', macs: ['nope'] }] }));
    const c = new InventoryConnector(InventoryConfigSchema.parse({ path: file }), fakeKafka(p));
    await assert.rejects(c.start(), invalid(/bad\.json: vms\[1\] \(id "vm2"\): macs\[0\]: "nope" is not a MAC address/));
    assert.equal(p.sent.length, 0);
    await c.close();
  });

  for (const mode of ['fs.watch', 'polling fallback'] as const) {
    it(`republishes when the file changes (${mode})`, async function () {
      this.timeout(10_000);
      const p = new FakeProducer();
      const file = tmpFile('lab.yaml', LAB_YAML);
      const realWatch = fs.watch;
      if (mode === 'polling fallback') (fs as { watch: unknown }).watch = () => { throw new Error('ENOSYS: no inotify here'); };
      const c = new InventoryConnector(InventoryConfigSchema.parse({ path: file, pollIntervalMs: mode === 'fs.watch' ? 60_000 : 50, debounceMs: 20 }), fakeKafka(p));
      try {
        await c.start();
        p.take();
        const reloaded = new Promise<unknown>((r) => c.once('reloaded', r));
        // as editors do: write a new file and rename it over the old one
        fs.writeFileSync(`${file}.tmp`, LAB_YAML.replace('id: vm3, host: h2', 'id: vm3, host: h1'));
        fs.renameSync(`${file}.tmp`, file);
        await reloaded;
        assert.deepEqual(p.take().map((m) => [m.key, m.value?.host]), [['vm3', 'h1']]);
      } finally {
        (fs as { watch: unknown }).watch = realWatch;
        await c.close();
      }
    });
  }
});

describe('inventory virsh source (recorded virsh output, libvirt test driver)', () => {
  const rec = (name: string) => fs.readFileSync(path.join(FIX, name), 'utf8');

  it('parses virsh list --all, domiflist and domifaddr', () => {
    assert.deepEqual(parseVirshList(rec('list-all.txt')), [
      { id: '1', name: 'web-01', state: 'running' }, { id: '2', name: 'db-01', state: 'running' }, { id: null, name: 'build runner', state: 'shut off' },
    ]);
    assert.deepEqual(parseDomiflist(rec('domiflist-web-01.txt')), [{ iface: 'testnet0', mac: '52:54:00:6b:3c:58' }, { iface: 'testnet1', mac: '52:54:00:aa:10:01' }]);
    assert.deepEqual(parseDomifaddr(rec('domifaddr-web-01.txt')), [
      { iface: 'testnet0', mac: '52:54:00:6b:3c:58', ip: '192.168.122.3', prefix: 24 }, { iface: 'testnet1', mac: '52:54:00:aa:10:01', ip: '192.168.0.2', prefix: 24 },
    ]);
    // The layout virsh documents for several addresses per interface ("-" continues the one above).
    const multi = ' Name       MAC address          Protocol     Address\n' + '-'.repeat(79) + '\n'
      + ' vnet0      52:54:00:6b:3c:58    ipv4         192.168.122.45/24\n -          -                    ipv6         2001:DB8::45/64\n';
    assert.deepEqual(parseDomifaddr(multi).map((a) => [a.iface, a.mac, a.ip, a.prefix]),
      [['vnet0', '52:54:00:6b:3c:58', '192.168.122.45', 24], ['vnet0', '52:54:00:6b:3c:58', '2001:db8::45', 64]]);
  });

  it('builds entries from virsh (UUID ids, no addresses for a shut-off domain) and publishes them', async () => {
    const calls: string[][] = [];
    const runner = async (args: string[]) => {
      calls.push(args);
      const [cmd, dom] = args;
      if (cmd === 'list') return rec('list-all.txt');
      const f = `${cmd}-${dom.replace(/ /g, '-')}.txt`;
      if (cmd === 'domifaddr' && dom === 'build runner') throw new Error('virsh domifaddr of a shut-off domain');
      return rec(f);
    };
    const src = new VirshSource(VirshConfigSchema.parse({ host: 'hv1', tenant: 'lab' }), runner);
    const entries = await src.read();
    assert.deepEqual(entries.map((e) => [e.id, e.name, e.host, e.macs, e.ips]), [
      ['6f1c2f0e-3b8a-4a0e-9d2c-1b9e6f2d7a01', 'web-01', 'hv1', ['52:54:00:6b:3c:58', '52:54:00:aa:10:01'], ['192.168.122.3', '192.168.0.2']],
      ['0a8b2c4d-5e6f-4a1b-8c2d-3e4f5a6b7c02', 'db-01', 'hv1', ['52:54:00:aa:10:02'], ['192.168.0.1']],
      ['c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03', 'build runner', 'hv1', ['52:54:00:de:ad:03'], []],
    ]);
    assert.ok(!calls.some((c) => c[0] === 'domifaddr' && c[1] === 'build runner'), 'a shut-off domain is not asked for addresses');
    const p = new FakeProducer();
    const c = new InventoryConnector(InventoryConfigSchema.parse({ source: 'virsh', watch: false, virsh: { host: 'hv1' } }), fakeKafka(p), { virshRunner: runner });
    await c.start();
    assert.equal(p.take().length, 3);
    await c.close();
  });

  it('a domain gone from this host is tombstoned only after removeAfterMs, and not if another host now has it', async () => {
    let domains = ['web-01', 'db-01', 'build runner'];
    const runner = async (args: string[]) => {
      const [cmd, dom] = args;
      if (cmd === 'list') {
        const lines = rec('list-all.txt').split('\n');
        return lines.filter((l, i) => i < 2 || !l.trim() || domains.some((d) => l.includes(` ${d} `))).join('\n');
      }
      return rec(`${cmd}-${dom.replace(/ /g, '-')}.txt`);
    };
    // The topic: what this connector sent, plus what another hypervisor's connector sends.
    const p = new FakeProducer();
    const topic = new Map<string, VmInventory>();
    const readTopic = async () => {
      for (const m of p.sent) { const k = String(m.key); if (m.value === null) topic.delete(k); else topic.set(k, codec.decode(m.value)); }
      p.sent = [];
      return new Map(topic);
    };
    let now = 1_000_000_000n;
    const c = new InventoryConnector(InventoryConfigSchema.parse({ source: 'virsh', watch: false, virsh: { host: 'hv1', removeAfterMs: 60_000 } }), fakeKafka(p),
      { virshRunner: runner, readTopic, now: () => now });
    await c.start();
    await readTopic();
    assert.equal(topic.size, 3);
    // db-01 live-migrates to hv2 (hv2's connector publishes it), build runner is undefined here
    domains = ['web-01'];
    topic.set('0a8b2c4d-5e6f-4a1b-8c2d-3e4f5a6b7c02', { ...topic.get('0a8b2c4d-5e6f-4a1b-8c2d-3e4f5a6b7c02')!, host: 'hv2', valid_from_ns: now });
    now += 30_000_000_000n;
    await c.reloadNow();
    assert.equal(p.sent.length, 0, 'first seen missing: nothing removed yet');
    now += 59_000_000_000n;
    await c.reloadNow();
    assert.equal(p.sent.length, 0, 'within the grace period nothing is removed');
    now += 1_000_000_000n;
    await c.reloadNow();
    const sent = (p.sent as OutMessage[]).map((m) => [String(m.key), m.value]);
    assert.deepEqual(sent, [['c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03', null]], 'only the domain that is nowhere else; db-01 (now on hv2) stays');
    // A stopped definition of a VM that runs elsewhere claims nothing; a running one does.
    await readTopic();
    topic.set('c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03', { ...codec.decode(codec.encode({ vm_id: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03', name: 'build runner',
      macs: [], ips: [], host: 'hv2', tenant: null, project: null, subnet: null, nic_capacity_bps: null, valid_from_ns: now })) });
    (c as unknown as { published: Map<string, VmInventory> }).published.set('c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03', topic.get('c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03')!);
    domains = ['web-01', 'build runner'];
    await c.reloadNow();
    assert.equal(p.sent.length, 0, 'shut off here, running on hv2: not claimed');
    await c.close();
  });
});
