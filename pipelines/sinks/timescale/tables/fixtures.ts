/**
 * Test records for every sink table. The traffic records are what the real stages make of real
 * captures (in the in-memory driver): aggregate, metrics, parse and pathloss on a web session,
 * ICMP pings and DNS over UDP seen at two observation points; identify (with an inventory that
 * owns the capture's addresses) and rollup on those flow windows. The records no capture makes
 * here (probe results, capture health, interface counters, inventory versions, VM events,
 * alerts) are built by hand with every optional field exercised. Every string that marks a row
 * as this run's (observation points, ids, keys) starts with `run`.
 */
import path from 'node:path';
import { readAll } from '../../../../lib/pcap';
import { decodeFrame } from '../../../../lib/decode';
import type { PacketSummary, FlowWindow } from '../../../../schemas/types';
import type { VmInventory } from '../../../../schemas/vm-inventory';
import { TopologyTestDriver } from '../../../runtime/test-driver';
import type { StageDefinition } from '../../../runtime/types';
import { aggregateStage } from '../../../stages/aggregate';
import { metricsStage } from '../../../stages/metrics';
import { parseStage } from '../../../stages/parse';
import { pathLossStage } from '../../../stages/pathloss';
import { identifyStage } from '../../../stages/identify';
import { rollupStage } from '../../../stages/rollup';

export const CORPUS = path.resolve(__dirname, '../../../../../shared/pcaps');
type Rec = Record<string, unknown>;

function run<V>(def: StageDefinition<V>, inputs: V[], out: string, globals: [string, string, unknown][] = []): Rec[] {
  const d = new TopologyTestDriver(def);
  for (const [name, key, value] of globals) d.pipeGlobal(name, key, value);
  for (const v of inputs) d.pipeInput(null, v);
  d.endOfStream();
  return d.readOutput<Rec>(out).map((o) => o.value);
}

async function packets(runId: string): Promise<PacketSummary[]> {
  const out: PacketSummary[] = [];
  for (const f of ['zeek_http-bro.org.pcap', 'zeek_icmp-5-pings.pcap', 'tcpdump_dns_udp.pcap']) {
    for (const r of await readAll(path.join(CORPUS, f))) {
      const p = decodeFrame(r, { observationPoint: `${runId}-h1`, payloadPrefix: () => 512 });
      out.push(p, { ...p, observation_point: `${runId}-h2`, ts_ns: BigInt(p.ts_ns) + 1_000_000n });
    }
  }
  return out.sort((a, b) => (BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : BigInt(a.ts_ns) > BigInt(b.ts_ns) ? 1 : 0));
}

/** Inventory versions that own the capture's first two addresses (one VM moves host). */
function inventory(runId: string, a: string, b: string, t0: bigint): VmInventory[] {
  const v = (id: string, ip: string, host: string, from: bigint, extra: Partial<VmInventory> = {}): VmInventory => ({
    vm_id: `${runId}-${id}`, name: id, macs: ['52:54:00:aa:bb:0' + id.length], ips: [ip], host, tenant: 'tenant-a', project: null,
    subnet: null, nic_capacity_bps: 1_000_000_000n, valid_from_ns: from, ...extra,
  });
  return [
    v('web', a, `${runId}-hv1`, t0 - 3_600_000_000_000n, { project: 'shop', subnet: '10.0.0.0/8' }),
    v('db', b, `${runId}-hv2`, t0 - 3_600_000_000_000n, { nic_capacity_bps: null }),
    v('db', b, `${runId}-hv1`, t0 + 1_000_000_000n, { ips: [b, '2001:db8::5'] }), // moved to hv1 (and got an IPv6 address)
  ];
}

export async function sampleRecords(runId: string): Promise<Map<string, Rec[]>> {
  const pk = await packets(runId);
  const t0 = BigInt(pk[0].ts_ns);
  const flows = run(aggregateStage({ inputTopic: 'p', outputTopic: 'f', lateTopic: 'l' }), pk, 'f');
  const first = flows[0] as unknown as FlowWindow;
  const inv = inventory(runId, first.addr_a, first.addr_b, t0);
  const invGlobals = inv.map((v): [string, string, unknown] => ['inventory', v.vm_id, v]);
  const identified = run(identifyStage({ inputTopic: 'f', outputTopic: 'i', eventsTopic: 'e', inventoryTopic: 'inv' }), flows as unknown as FlowWindow[], 'i', invGlobals);
  const rollups = run(rollupStage({ inputTopic: 'i', outputTopic: 'r' }), identified as never[], 'r')
    .map((r) => ({ ...r, key: `${runId}:${String(r.key)}` }));
  const out = new Map<string, Rec[]>([
    ['flow_windows', flows],
    ['identified_flows', identified],
    ['flow_metrics', run(metricsStage({ inputTopic: 'p', outputTopic: 'm', inventoryTopic: 'inv' }), pk, 'm', invGlobals)],
    ['l7_events', run(parseStage({ inputTopic: 'p', outputTopic: 'l7' }), pk, 'l7')],
    ['path_loss', run(pathLossStage({ inputTopic: 'p', outputTopic: 'pl' }), pk, 'pl')],
    ['rollups', rollups],
    ['vm_inventory', inv as unknown as Rec[]],
  ]);
  const ns = (s: number) => t0 + BigInt(s) * 1_000_000_000n;
  out.set('probe_results', [
    { prober: `${runId}-probe`, target: '10.0.0.2:80', kind: 'TCP_CONNECT', interval_start_ns: ns(0), interval_end_ns: ns(10), sent: 3, received: 2, lost: 1,
      rtt_min_ns: 100_000n, rtt_mean_ns: 150_000n, rtt_max_ns: 200_000n, rtt_samples_ns: [100_000n, 200_000n], error: 'timeout' },
    { prober: `${runId}-probe`, target: '10.0.0.2:7', kind: 'UDP_ECHO', interval_start_ns: ns(0), interval_end_ns: ns(10), sent: 0, received: 0, lost: 0,
      rtt_min_ns: null, rtt_mean_ns: null, rtt_max_ns: null, rtt_samples_ns: [], error: null },
  ]);
  out.set('capture_health', [0, 1].map((i) => ({
    ts_ns: ns(i * 5), started_ns: ns(-60), connector: 'pcap-live', host: 'sensor-1', interface: 'eth0', observation_point: `${runId}-live`,
    filter: i ? 'tcp' : '', link_type: 1, snaplen: 262144, final: i === 1, packets_seen: 1000n + BigInt(i), bytes_seen: 90_000n, packets_truncated: 0n,
    packets_published: 999n, pipeline_drops: 1n, pipeline_drops_by_reason: { 'queue-full': 1n }, kernel_drops: i ? 2n : null, interface_drops: null,
    interface_packets: 1010n, malformed: 3n, malformed_by_code: { 'ip-truncated': 3n }, queue_depth: 5, queue_capacity: 65536, capturing: true,
    capture_restarts: 0n, last_error: i ? 'device went away' : null,
  })));
  const generic = { if_index: 3n, if_type: 6n, if_speed: 10_000_000_000n, if_direction: 1, if_admin_up: true, if_oper_up: true, in_octets: 123456789n,
    in_ucast_pkts: 1000n, in_multicast_pkts: null, in_broadcast_pkts: 2n, in_discards: 0n, in_errors: 0n, in_unknown_protos: null,
    out_octets: 987654321n, out_ucast_pkts: 900n, out_multicast_pkts: 1n, out_broadcast_pkts: 0n, out_discards: 0n, out_errors: 0n, promiscuous: false };
  const ethernet = { alignment_errors: 0n, fcs_errors: 1n, single_collision_frames: null, multiple_collision_frames: null, sqe_test_errors: null,
    deferred_transmissions: 0n, late_collisions: 0n, excessive_collisions: 0n, internal_mac_transmit_errors: 0n, carrier_sense_errors: 0n,
    frame_too_longs: 0n, internal_mac_receive_errors: 0n, symbol_errors: null };
  out.set('interface_counters', [0, 1].map((i) => ({
    ts_ns: ns(i * 20), observation_point: `${runId}-sflow:192.0.2.1/3`, agent: i ? '2001:db8::1' : '192.0.2.1', sub_agent_id: 0n, datagram_sequence: 10n + BigInt(i),
    uptime_ms: 5000n, sample_sequence: 7n + BigInt(i), source_id_type: 0, source_id_index: 3n, generic: i ? null : generic, ethernet: i ? null : ethernet,
  })));
  out.set('vm_events', [
    { type: 'migration', vm: `${runId}-db`, vm_name: 'db', from_host: `${runId}-hv2`, to_host: `${runId}-hv1`, at: ns(1), source: 'inventory', observation_point: null },
    { type: 'migration', vm: `${runId}-web`, vm_name: null, from_host: `${runId}-hv1`, to_host: `${runId}-hv3`, at: ns(30), source: 'traffic', observation_point: `${runId}-h2` },
  ]);
  const alert = (state: string, updated: number, extra: Rec = {}): Rec => ({
    id: `${runId}-scan@${ns(0)}`, dedup_key: `port_scan|tenant-a|${first.addr_a}`, type: 'port_scan', detector: 'detect-scans', severity: 'warning', state,
    first_seen_ns: ns(0), last_seen_ns: ns(updated), updated_ns: ns(updated), summary: `${first.addr_a} probed 120 ports`, tenant: 'tenant-a',
    vm_a: `${runId}-web`, vm_b: null, addr_a: first.addr_a, addr_b: null, host_a: `${runId}-hv1`, host_b: null, observation_point: `${runId}-h1`,
    metric: 'distinct_dst_ports', value: 120, baseline: null, threshold: 100, evidence: { ports: '22,23,80', sample: 'x"y' }, ...extra,
  });
  out.set('alerts', [alert('open', 10), alert('updated', 20, { severity: 'critical', value: 300 }), alert('resolved', 50)]);
  return out;
}

/** `n` distinct flow windows (10-s windows over ~a day, 2000 flows each), for volume tests and the benchmark. */
export function syntheticFlowWindows(runId: string, n: number, t0 = 1_700_000_000_000_000_000n): FlowWindow[] {
  const out: FlowWindow[] = [];
  for (let i = 0; i < n; i++) {
    const w = t0 + BigInt(Math.floor(i / 2000)) * 10_000_000_000n;
    const f = i % 2000;
    out.push({
      window_start_ns: w, window_end_ns: w + 10_000_000_000n, flow_key: `6|10.1.${f >> 8}.${f & 255}|${40000 + (i % 97)}|10.2.0.1|443`,
      ip_proto: 6, addr_a: `10.1.${f >> 8}.${f & 255}`, port_a: 40000 + (i % 97), addr_b: '10.2.0.1', port_b: 443,
      packets_ab: BigInt(10 + (i % 13)), bytes_ab: BigInt(1500 * (10 + (i % 13))), packets_ba: BigInt(8 + (i % 7)), bytes_ba: BigInt(900 * (8 + (i % 7))),
      syn_count: BigInt(i % 2), synack_count: BigInt(i % 2), fin_count: 0n, rst_count: BigInt(i % 5 === 0 ? 1 : 0), zero_window_count: 0n, malformed_count: 0n,
      first_seen_ns: w + BigInt(i % 1000) * 1_000_000n, last_seen_ns: w + 9_000_000_000n, observation_point: `${runId}-op`,
    });
  }
  return out;
}
