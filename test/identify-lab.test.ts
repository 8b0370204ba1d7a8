/**
 * @lab: VM identity through a live migration, end to end on the lab's virtual switch.
 *
 * Root only; brings the lab up and down itself (scripts/lab/*.sh; outside CI it skips when the
 * lab is already up, unless TAPLINE_LAB_REBUILD=1) and starts its own Kafka
 * (port 21292, temporary directory). An inventory file describes the four lab VMs and is
 * followed by the inventory-file connector (fs.watch). HTTP traffic runs between VMs while vm2
 * is moved from h1 to h2 with scripts/lab/migrate.sh and the inventory file is rewritten.
 *
 * Capture: tcpdump -w on both monitor ports (tl-mon-h1, tl-mon-h2), replayed afterwards with the
 * pcap-file connector as observation points lab:h1 and lab:h2 — the pcap-live connector was being
 * changed in the shared tree while this was written, and tcpdump's kernel timestamps are the
 * same clock as the inventory's valid_from. Then aggregate (1-s windows) -> identify -> vm-events, rollup,
 * each a bounded exactly-once StageRunner run against the real broker.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClient, readPartitionsToEnd } from '../lib/kafka';
import { KafkaBroker } from '../lib/services/kafka-broker';
import { AvroCodec } from '../schemas';
import type { IdentifiedFlow } from '../schemas/identified-flow';
import type { VmEvent } from '../schemas/vm-event';
import type { Rollup } from '../schemas/rollup';
import { ROLLUP_DIMENSIONS } from '../schemas/rollup';
import { InventoryConnector, InventoryConfigSchema, type InventoryChange } from '../connectors/inventory';
import { PcapFileConnector } from '../connectors/pcap-file';
import { StageRunner } from '../pipelines/runtime/kafka-runner';
import type { StageDefinition } from '../pipelines/runtime/types';
import { aggregateStage } from '../pipelines/stages/aggregate';
import { identifyStage } from '../pipelines/stages/identify';
import { rollupStage } from '../pipelines/stages/rollup';
import { vmEventsStage } from '../pipelines/stages/vm-events';
import { LAB_DIR, lab, labAsync, labMissing } from './support/lab';

const LAB = LAB_DIR;
// Below the ephemeral port range (32768-60999): an outgoing connection may hold any port in it.
const KAFKA_PORT = 21292;


const nowNs = () => BigInt(Date.now()) * 1_000_000n;

function inventoryYaml(vm2Host: string): string {
  return `# the lab's VMs (docs/lab.md)
vms:
  - {id: vm-0001, name: vm1, host: h1, macs: ["02:77:00:00:00:01"], ips: [10.77.1.11], tenant: blue, project: web, subnet: 10.77.1.0/24, nicCapacityBps: 10G}
  - {id: vm-0002, name: vm2, host: ${vm2Host}, macs: ["02:77:00:00:00:02"], ips: [10.77.1.12], tenant: blue, project: db, subnet: 10.77.1.0/24, nicCapacityBps: 10G}
  - {id: vm-0003, name: vm3, host: h2, macs: ["02:77:00:00:00:03"], ips: [10.77.2.13], tenant: red, project: web, subnet: 10.77.2.0/24, nicCapacityBps: 10G}
  - {id: vm-0004, name: vm4, host: h2, macs: ["02:77:00:00:00:04"], ips: [10.77.2.14], tenant: red, project: batch, subnet: 10.77.2.0/24, nicCapacityBps: 10G}
`;
}

async function readAll<T>(kafka: KafkaClient, topic: string, schema: string): Promise<{ key: string | null; value: T }[]> {
  const codec = new AvroCodec<T>(schema);
  const parts = [...(await kafka.endOffsets(topic)).keys()];
  const out: { key: string | null; value: T }[] = [];
  await readPartitionsToEnd(kafka, topic, parts, (_p, m) => { if (m.value) out.push({ key: m.key?.toString() ?? null, value: codec.decode(m.value) }); }, 60_000);
  return out;
}

async function runBounded<V>(def: StageDefinition<V>, kafka: KafkaClient, deadLetterTopic: string, groupId: string): Promise<StageRunner<V>> {
  const r = new StageRunner(def, { kafka, deadLetterTopic, bounded: true, groupId });
  try {
    await r.start();
    await r.done();
  } finally {
    await r.close();
  }
  return r;
}

describe('identify on the lab: a VM live-migrated mid-traffic keeps its identity @lab @integration', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-identify-lab-'));
  const RUN = `idlab-${process.pid}-${Date.now()}`;
  const T = {
    packets: `${RUN}.packets.v1`, flows: `${RUN}.flows.v1`, late: `${RUN}.late.v1`, dead: `${RUN}.deadletter.v1`,
    identified: `${RUN}.flows.identified.v1`, candidates: `${RUN}.vm-events.candidates.v1`, events: `${RUN}.vm-events.v1`, rollups: `${RUN}.rollups.v1`, inventory: `${RUN}.inventory.v1`,
  };
  const invFile = path.join(tmp, 'inventory.yaml');
  let broker: KafkaBroker | null = null;
  let kafka: KafkaClient | null = null;
  let inventory: InventoryConnector | null = null;
  const tcpdumps: ChildProcess[] = [];
  let labUp = false;

  before(async function () {
    const why = labMissing(['tcpdump', 'curl', 'python3', 'java']);
    if (why) throw new Error(`the lab cannot run here: ${why} (bash .ci/run installs what it needs)`);
    // The lab is shared by everyone on this machine: outside CI, one that is up may be in use by
    // someone else, so it is only rebuilt when asked to (TAPLINE_LAB_REBUILD=1).
    const status = spawnSync('bash', [path.join(LAB, 'status.sh')], { stdio: 'ignore' }).status;
    if (status !== 1 && !process.env.CI && process.env.TAPLINE_LAB_REBUILD !== '1') {
      throw new Error('the lab is up (in use by someone?): take it down (tapline lab down) or set TAPLINE_LAB_REBUILD=1');
    }
    lab('down.sh');
    lab('up.sh');
    labUp = true;
    broker = new KafkaBroker({ stateDir: path.join(tmp, 'kafka'), port: KAFKA_PORT, numPartitions: 1 });
    const { brokers } = await broker.start();
    kafka = new KafkaClient({ brokers, clientId: RUN });
    await kafka.ensureTopics([T.packets, T.flows, T.late, T.dead, T.identified, T.candidates, T.events, T.rollups].map((topic) => ({ topic, partitions: 1 })));
  });

  after(async () => {
    for (const t of tcpdumps) if (t.exitCode === null) t.kill('SIGTERM');
    await inventory?.close().catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    if (labUp) lab('down.sh');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('identified flows keep vm2\'s id with h2 after the move, one migration event, rollups add up', async () => {
    // 1. The inventory: the file, followed by the connector.
    fs.writeFileSync(invFile, inventoryYaml('h1'));
    inventory = new InventoryConnector(InventoryConfigSchema.parse({ path: invFile, topic: T.inventory, pollIntervalMs: 500, debounceMs: 50 }), kafka!);
    await inventory.start();
    assert.equal(inventory.published.size, 4);

    // 2. Servers first (their start makes no traffic), then the captures on both monitor ports.
    lab('traffic.sh', 'http', 'vm2', 'vm3', '1000');
    lab('traffic.sh', 'http', 'vm1', 'vm2', '1000');
    const pcaps: Record<string, string> = {};
    for (const h of ['h1', 'h2']) {
      pcaps[h] = path.join(tmp, `tl-mon-${h}.pcap`);
      const t = spawn('tcpdump', ['-i', `tl-mon-${h}`, '-nn', '-U', '--immediate-mode', '-s', '0', '-w', pcaps[h]], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      t.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      for (let i = 0; i < 100 && !/listening on/.test(err); i++) await sleep(50);
      assert.match(err, new RegExp(`listening on tl-mon-${h}`));
      tcpdumps.push(t);
    }

    // 3. Traffic all along: vm2 downloads from vm3 (h1 -> h2, then within h2) and vm1 from vm2.
    let stop = false;
    const made: string[] = [];
    const traffic = (async () => {
      while (!stop) {
        made.push((await labAsync('traffic.sh', 'http', 'vm2', 'vm3', '20000')).trim());
        made.push((await labAsync('traffic.sh', 'http', 'vm1', 'vm2', '20000')).trim());
        await sleep(150);
      }
    })();
    await sleep(2500);

    // 4. Live migration mid-traffic, and the inventory file rewritten (as an editor does) after it.
    const tMoveStart = nowNs();
    lab('migrate.sh', 'vm2', 'h2');
    const tMoved = nowNs();
    const republished = new Promise<InventoryChange>((resolve) => inventory!.on('reloaded', (c: InventoryChange) => { if (c.upserts.length) resolve(c); }));
    fs.writeFileSync(`${invFile}.tmp`, inventoryYaml('h2'));
    fs.renameSync(`${invFile}.tmp`, invFile);
    const change = await republished;
    assert.deepEqual(change.upserts.map((v) => [v.vm_id, v.host]), [['vm-0002', 'h2']]);
    assert.deepEqual(change.removed, []);
    const tInv = BigInt(change.upserts[0].valid_from_ns);
    assert.ok(tInv >= tMoved, 'the new version is valid from when the file changed');
    await sleep(3000);
    stop = true;
    await traffic;
    await sleep(300);
    for (const t of tcpdumps) { t.kill('SIGTERM'); await new Promise((r) => (t.exitCode === null ? t.once('exit', r) : r(null))); }
    assert.ok(made.length >= 8 && made.every((l) => / code=200 bytes=20000$/.test(l)), made.join('\n'));

    // 5. Replay both captures as their hosts' observation points.
    const frames: Record<string, number> = {};
    for (const h of ['h1', 'h2']) {
      const c = new PcapFileConnector({ path: pcaps[h], topic: T.packets, observationPoint: `lab:${h}`, speed: 0, batchSize: 2000, progress: false }, kafka!);
      await c.start();
      const s = await c.done();
      await c.close();
      assert.ok(s.packets > 100, `${h}: ${s.packets} frames captured`);
      frames[h] = s.packets;
    }

    // 6. aggregate -> identify -> rollup, bounded runs on the broker. The two files are replayed
    //    one after the other, so lateness covers the whole run (windows close at the end).
    await runBounded(aggregateStage({ inputTopic: T.packets, outputTopic: T.flows, lateTopic: T.late, windowMs: 1000, allowedLatenessMs: 600_000 }),
      kafka!, T.dead, `${RUN}-aggregate`);
    const identify = await runBounded(identifyStage({ inputTopic: T.flows, outputTopic: T.identified, eventsTopic: T.candidates, inventoryTopic: T.inventory,
      observationHosts: { 'lab:h1': 'h1', 'lab:h2': 'h2' } }), kafka!, T.dead, `${RUN}-identify`);
    await runBounded(vmEventsStage({ inputTopic: T.candidates, outputTopic: T.events }), kafka!, T.dead, `${RUN}-vm-events`);
    await runBounded(rollupStage({ inputTopic: T.identified, outputTopic: T.rollups, allowedLatenessMs: 0 }), kafka!, T.dead, `${RUN}-rollup`);

    const flows = (await readAll<IdentifiedFlow>(kafka!, T.identified, 'identified-flow.v1')).map((m) => m.value);
    const candidates = await readAll<VmEvent>(kafka!, T.candidates, 'vm-event.v1');
    const events = await readAll<VmEvent>(kafka!, T.events, 'vm-event.v1');
    const rollups = (await readAll<Rollup>(kafka!, T.rollups, 'rollup.v1')).map((m) => m.value);

    // vm2's side of every flow window: same VM id throughout, h1 before the move, h2 after the file said so.
    const side = (f: IdentifiedFlow, ip: string) => (f.addr_a === ip ? { vm: f.a_vm, host: f.a_host } : f.addr_b === ip ? { vm: f.b_vm, host: f.b_host } : null);
    const vm2 = flows.filter((f) => side(f, '10.77.1.12') && f.ip_proto === 6);
    const before = vm2.filter((f) => BigInt(f.first_seen_ns) < tMoveStart);
    const after = vm2.filter((f) => BigInt(f.first_seen_ns) >= tInv);
    assert.ok(before.length >= 4 && after.length >= 4, `windows before ${before.length}, after ${after.length}`);
    for (const f of vm2) assert.equal(side(f, '10.77.1.12')!.vm, 'vm-0002', 'one VM id, before and after the move');
    for (const f of before) assert.equal(side(f, '10.77.1.12')!.host, 'h1');
    for (const f of after) assert.equal(side(f, '10.77.1.12')!.host, 'h2');
    // The move is real: after it, h2's monitor port sees vm2's traffic with vm3, h1's no longer does.
    const with3 = (f: IdentifiedFlow) => side(f, '10.77.2.13') !== null;
    assert.ok(after.some((f) => with3(f) && f.observation_point === 'lab:h2'));
    assert.ok(!after.some((f) => with3(f) && f.observation_point === 'lab:h1'));
    // Classification follows: vm2<->vm3 inter-host before, intra-host after; vm1<->vm2 the other way round.
    assert.deepEqual([...new Set(before.filter(with3).map((f) => f.traffic_class))], ['inter_host']);
    assert.deepEqual([...new Set(after.filter(with3).map((f) => f.traffic_class))], ['intra_host']);
    assert.deepEqual([...new Set(before.filter((f) => !with3(f)).map((f) => f.traffic_class))], ['intra_host']);
    assert.deepEqual([...new Set(after.filter((f) => !with3(f)).map((f) => f.traffic_class))], ['inter_host']);

    // Exactly one migration event.
    assert.equal(events.length, 1, JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(events[0].key, 'vm-0002');
    assert.deepEqual({ ...events[0].value, at: BigInt(events[0].value.at) },
      { type: 'migration', vm: 'vm-0002', vm_name: 'vm2', from_host: 'h1', to_host: 'h2', at: tInv, source: 'inventory', observation_point: null });

    // Rollups: per window and dimension, the totals equal the sum of the flows (one copy per flow key).
    const best = new Map<string, IdentifiedFlow>();
    const pk = (f: IdentifiedFlow) => BigInt(f.packets_ab) + BigInt(f.packets_ba);
    for (const f of flows) {
      const k = `${f.window_start_ns}|${f.flow_key}`;
      const b = best.get(k);
      if (!b || pk(f) > pk(b) || (pk(f) === pk(b) && (BigInt(f.first_seen_ns) < BigInt(b.first_seen_ns) || (f.first_seen_ns === b.first_seen_ns && f.observation_point < b.observation_point)))) best.set(k, f);
    }
    const windows = [...new Set([...best.values()].map((f) => BigInt(f.window_start_ns)))];
    for (const w of windows) {
      const inW = [...best.values()].filter((f) => BigInt(f.window_start_ns) === w);
      const packets = inW.reduce((t, f) => t + pk(f), 0n);
      const bytes = inW.reduce((t, f) => t + BigInt(f.bytes_ab) + BigInt(f.bytes_ba), 0n);
      for (const dim of ROLLUP_DIMENSIONS.filter((d) => d !== 'tenant')) {
        const rs = rollups.filter((r) => BigInt(r.window_start_ns) === w && r.dimension === dim);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.packets_fwd) + BigInt(r.packets_rev), 0n), packets, `${dim} @${w}`);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.bytes_fwd) + BigInt(r.bytes_rev), 0n), bytes, `${dim} @${w}`);
        assert.equal(rs.reduce((t, r) => t + BigInt(r.flows), 0n), BigInt(inW.length), `${dim} @${w}`);
      }
    }
    const pairs = (r: Rollup) => r.dimension === 'host_pair' && BigInt(r.window_start_ns) >= tInv - (tInv % 1_000_000_000n) + 1_000_000_000n;
    assert.ok(rollups.some((r) => pairs(r) && r.key === 'h2->h2'), 'vm2 -> vm3 within h2 after the move');
    assert.ok(rollups.some((r) => pairs(r) && r.key === 'h1->h2'), 'vm1 -> vm2 across hosts after the move');
    console.log(`      ${made.length} downloads; frames replayed h1 ${frames.h1}, h2 ${frames.h2}; flow windows ${flows.length} (vm2: ${before.length} before / ${after.length} after), `
      + `rollup records ${rollups.length}, migration candidates ${candidates.length} -> events ${events.length}, identify dropped ${JSON.stringify(Object.fromEntries(identify.metrics.droppedByReason))}, `
      + `migrate.sh took ${(tMoved - tMoveStart) / 1_000_000n} ms, inventory republished ${(tInv - tMoved) / 1_000_000n} ms after it`);
  });

  it('a restarted inventory connector reads the topic first: nothing unchanged republished, removed VMs tombstoned', async () => {
    assert.ok(inventory, 'runs after the migration test');
    await inventory.close();
    const again = new InventoryConnector(InventoryConfigSchema.parse({ path: invFile, topic: T.inventory, watch: false }), kafka!);
    await again.start();
    assert.equal((await again.done()).packets, 0, 'the file did not change while it was down');
    assert.equal(again.published.get('vm-0002')?.host, 'h2');
    await again.close();
    fs.writeFileSync(invFile, inventoryYaml('h2').split('\n').filter((l) => !l.includes('vm-0004')).join('\n'));
    const third = new InventoryConnector(InventoryConfigSchema.parse({ path: invFile, topic: T.inventory, watch: false }), kafka!);
    await third.start();
    assert.equal((await third.done()).packets, 1);
    await third.close();
    const codec = new AvroCodec<unknown>('vm-inventory.v1');
    const log: [string, string | null][] = [];
    await readPartitionsToEnd(kafka!, T.inventory, [0], (_p, m) => log.push([m.key!.toString(), m.value === null ? null : (codec.decode(m.value) as { host: string }).host]));
    assert.deepEqual(log, [['vm-0001', 'h1'], ['vm-0002', 'h1'], ['vm-0003', 'h2'], ['vm-0004', 'h2'], ['vm-0002', 'h2'], ['vm-0004', null]]);
  });
});
