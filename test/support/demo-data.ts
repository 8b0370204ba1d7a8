/**
 * Demo data for SQL, dashboard and storage tests: real corpus captures (../shared/pcaps) replayed
 * at chosen offsets before "now", run through the real stages on the in-memory driver
 * (aggregate -> identify -> vm-events, and metrics), with a small VM inventory that includes a
 * VM created recently and a VM that migrates between hosts. The records are returned (so tests
 * compute their expectations from them, independently of SQL) and can be written to the
 * database through the sink's own table specs (pipelines/sinks/timescale/tables).
 *
 * Timestamps are shifted as a whole per replayed capture (packet spacing and RTTs unchanged),
 * so "the last hour" or "today" in SQL finds data whenever the test runs.
 */
import type { Pool } from 'pg';
import { capturePackets } from '../../pipelines/stages/metrics/reference';
import { TopologyTestDriver } from '../../pipelines/runtime/test-driver';
import { aggregateStage } from '../../pipelines/stages/aggregate';
import { identifyStage } from '../../pipelines/stages/identify';
import { vmEventsStage } from '../../pipelines/stages/vm-events';
import { metricsStage } from '../../pipelines/stages/metrics';
import { tableSpec, type RowContext } from '../../pipelines/sinks/timescale/tables';
import type { FlowWindow, PacketSummary } from '../../schemas/types';
import type { IdentifiedFlow } from '../../schemas/identified-flow';
import type { FlowMetrics } from '../../schemas/flow-metrics';
import type { VmInventory } from '../../schemas/vm-inventory';
import type { VmEvent } from '../../schemas/vm-event';

const MIN_NS = 60_000_000_000n;
const H_NS = 60n * MIN_NS;
export const DEMO_OBSERVATION_POINT = 'demo:mirror';

/** Which capture is replayed where: its first packet at anchor - minutesBefore. */
export const DEMO_REPLAYS: { capture: string; minutesBefore: number }[] = [
  { capture: 'zeek_http-bro.org.pcap', minutesBefore: 49 * 60 },
  { capture: 'zeek_icmp-5-pings.pcap', minutesBefore: 49 * 60 - 1 },
  { capture: 'zeek_http-206_example_b.pcap', minutesBefore: 48 * 60 },
  { capture: 'zeek_http-bro.org.pcap', minutesBefore: 25 * 60 },
  { capture: 'zeek_icmp-5-pings.pcap', minutesBefore: 25 * 60 - 2 },
  { capture: 'zeek_http-bro.org.pcap', minutesBefore: 3 * 60 },
  { capture: 'zeek_icmp-5-pings.pcap', minutesBefore: 3 * 60 - 1 },
  { capture: 'zeek_http-206_example_b.pcap', minutesBefore: 45 },
  { capture: 'zeek_http-bro.org.pcap', minutesBefore: 40 },
  { capture: 'ndpi_dingtalk.pcap', minutesBefore: 30 },
  { capture: 'zeek_tls-tls12-decryption.pcap', minutesBefore: 12 },
  { capture: 'zeek_icmp-5-pings.pcap', minutesBefore: 11 },
];

export interface DemoVm { id: string; name: string; ip: string; host: string; tenant: string; capacityBps: bigint; createdMinutesBefore: number }
export const DEMO_VMS: DemoVm[] = [
  { id: 'vm-web-client', name: 'web-client', ip: '10.0.2.15', host: 'h1', tenant: 'acme', capacityBps: 10_000_000n, createdMinutesBefore: 60 * 24 * 10 },
  { id: 'vm-web-server', name: 'web-server', ip: '192.150.187.43', host: 'h2', tenant: 'acme', capacityBps: 100_000_000n, createdMinutesBefore: 60 * 24 * 10 },
  { id: 'vm-app', name: 'app-01', ip: '192.168.72.14', host: 'h1', tenant: 'acme', capacityBps: 10_000_000n, createdMinutesBefore: 60 * 24 * 10 },
  { id: 'vm-mon', name: 'mon-01', ip: '172.16.133.2', host: 'h2', tenant: 'ops', capacityBps: 1_000_000_000n, createdMinutesBefore: 60 * 24 * 10 },
  { id: 'vm-db', name: 'db-01', ip: '172.217.11.78', host: 'h2', tenant: 'ops', capacityBps: 1_000_000_000n, createdMinutesBefore: 60 * 24 * 10 },
  // created 30 minutes ago: its pair is new today
  { id: 'vm-tls-client', name: 'tls-client', ip: '192.168.100.70', host: 'h3', tenant: 'beta', capacityBps: 10_000_000n, createdMinutesBefore: 30 },
  { id: 'vm-tls-server', name: 'tls-server', ip: '193.99.144.80', host: 'h1', tenant: 'beta', capacityBps: 10_000_000n, createdMinutesBefore: 30 },
];
/** vm-web-server moves from h2 to h3 this long before the anchor (an inventory version). */
export const DEMO_MIGRATION = { vm: 'vm-web-server', toHost: 'h3', minutesBefore: 120 };

export interface DemoData {
  anchor: Date;
  packets: PacketSummary[];
  flows: FlowWindow[];
  identified: IdentifiedFlow[];
  metrics: FlowMetrics[];
  inventory: VmInventory[];
  events: VmEvent[];
}

function inventoryVersions(anchorNs: bigint): VmInventory[] {
  const out: VmInventory[] = [];
  for (const v of DEMO_VMS) {
    const base: VmInventory = { vm_id: v.id, name: v.name, macs: [], ips: [v.ip], host: v.host, tenant: v.tenant, project: null,
      subnet: null, nic_capacity_bps: v.capacityBps, valid_from_ns: anchorNs - BigInt(v.createdMinutesBefore) * MIN_NS };
    out.push(base);
    if (v.id === DEMO_MIGRATION.vm) out.push({ ...base, host: DEMO_MIGRATION.toHost, valid_from_ns: anchorNs - BigInt(DEMO_MIGRATION.minutesBefore) * MIN_NS });
  }
  return out;
}

/**
 * Builds the demo records. anchor defaults to the current minute minus 2 minutes, so the newest
 * data (12 minutes before it) is "in the last 15 minutes / hour" when the test queries.
 */
export async function buildDemoData(anchor: Date = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000)): Promise<DemoData> {
  const anchorNs = BigInt(anchor.getTime()) * 1_000_000n;
  const packets: PacketSummary[] = [];
  for (const r of DEMO_REPLAYS) {
    const ps = await capturePackets(r.capture, DEMO_OBSERVATION_POINT);
    const first = ps.reduce((m, p) => (BigInt(p.ts_ns) < m ? BigInt(p.ts_ns) : m), BigInt(ps[0].ts_ns));
    const shift = anchorNs - BigInt(r.minutesBefore) * MIN_NS - first;
    for (const p of ps) packets.push({ ...p, ts_ns: BigInt(p.ts_ns) + shift });
  }
  packets.sort((a, b) => (BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : BigInt(a.ts_ns) > BigInt(b.ts_ns) ? 1 : 0));
  const inventory = inventoryVersions(anchorNs);

  const agg = new TopologyTestDriver(aggregateStage({}));
  for (let i = 0; i < packets.length; i += 256) agg.pipeMessage('k', packets.slice(i, i + 256));
  agg.endOfStream();
  const flows = agg.readOutput<FlowWindow>('tapline.flows.v1').map((o) => o.value);

  const id = new TopologyTestDriver(identifyStage({}));
  for (const v of inventory) id.pipeGlobal('inventory', v.vm_id, v, BigInt(v.valid_from_ns));
  for (const f of flows) id.pipeInput(f.flow_key, f);
  id.endOfStream();
  const identified = id.readOutput<IdentifiedFlow>('tapline.flows.identified.v1').map((o) => o.value);
  const candidates = id.readOutput<VmEvent>('tapline.vm-events.candidates.v1');
  const ev = new TopologyTestDriver(vmEventsStage({}));
  for (const c of candidates) ev.pipeInput(c.key, c.value);
  const events = ev.readOutput<VmEvent>('tapline.vm-events.v1').map((o) => o.value);

  const met = new TopologyTestDriver(metricsStage({}));
  for (const v of inventory) met.pipeGlobal('inventory', v.vm_id, v, BigInt(v.valid_from_ns));
  for (let i = 0; i < packets.length; i += 256) met.pipeMessage('k', packets.slice(i, i + 256));
  met.endOfStream();
  const metrics = met.readOutput<FlowMetrics>('tapline.flow-metrics.v1').map((o) => o.value);
  return { anchor, packets, flows, identified, metrics, inventory, events };
}

/** Writes records through a sink table spec's own row mapping (multi-row INSERT, never COPY). */
export async function insertRecords(pool: Pool, specName: string, records: unknown[]): Promise<number> {
  const spec = tableSpec(specName);
  const rows: unknown[][][] = spec.targets.map(() => []);
  const ctx = { raw: Buffer.alloc(0), repeat: 0 } as unknown as RowContext;
  for (const r of records) spec.rows(r as Record<string, unknown>, ctx, (t, row) => rows[t].push(row));
  let n = 0;
  for (let t = 0; t < spec.targets.length; t++) {
    const target = spec.targets[t];
    const cols = target.columns.map((c) => `"${c.name}"`).join(', ');
    const per = Math.max(1, Math.floor(30_000 / target.columns.length));
    for (let i = 0; i < rows[t].length; i += per) {
      const chunk = rows[t].slice(i, i + per);
      const params: unknown[] = [];
      const values = chunk.map((row) => `(${row.map((v) => { params.push(v); return `$${params.length}`; }).join(', ')})`);
      const res = await pool.query(`INSERT INTO ${target.table} (${cols}) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING`, params);
      n += res.rowCount ?? 0;
    }
  }
  return n;
}

/** Builds the demo data and loads it into a migrated database; returns the records. */
export async function loadDemoData(pool: Pool, anchor?: Date): Promise<DemoData> {
  const d = await buildDemoData(anchor);
  await insertRecords(pool, 'vm_inventory', d.inventory);
  await insertRecords(pool, 'vm_events', d.events);
  await insertRecords(pool, 'flow_windows', d.flows);
  await insertRecords(pool, 'identified_flows', d.identified);
  await insertRecords(pool, 'flow_metrics', d.metrics);
  return d;
}

export { MIN_NS, H_NS };
