/**
 * Stage `rollup`: identified flow windows -> per window totals by dimension (src VM, dst VM, VM
 * pair, protocol, service port, host pair, tenant).
 *
 * - One flow counts once: a flow seen at two observation points (inter-host traffic is seen by
 *   both hosts' monitor ports) arrives as two windows with the same flow key; per (window, flow
 *   key) the copy with the most packets is counted (tie: earlier first_seen, then observation
 *   point name). Both copies are in one partition (keyed by flow key), so this is exact.
 * - Direction: the service side of a flow is the endpoint with the lower port (tie, or port 0
 *   as for ICMP: endpoint b); src = client, dst = service. fwd = src -> dst, rev = dst -> src.
 * - Keys: a VM id; "external" for an endpoint that is no inventory VM. vm_pair "src->dst",
 *   host_pair "host->host" (host "external" likewise), protocol "tcp"/"udp"/"icmp"/number,
 *   service_port "tcp/80" (protocol alone when the port is 0).
 * - tenant: a flow counts for each distinct tenant of its two endpoints (once when both are
 *   the same tenant), "unknown" when neither endpoint has one. So tenant totals add up to at
 *   least the window's total; every other dimension partitions the flows exactly: its keys'
 *   totals add up to the sum of the window's flows.
 * - Per input partition (stores are per task): each record carries source_partition; with
 *   several partitions a (window, dimension, key) has one record per partition, to be summed.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { Rollup, RollupDimension } from '../../../schemas/rollup';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import type { RollupConfig } from './config';

export const ROLLUP_FLOWS_STORE = 'rollup-flows';

/** The counted copy of one flow in one window (compact: what the rollups need). */
export interface FlowCopy {
  w: bigint; we: bigint; k: string; op: string; first: bigint;
  proto: number; svcPort: number;
  src: string; dst: string; srcHost: string; dstHost: string; tenants: string[];
  pf: bigint; bf: bigint; pr: bigint; br: bigint;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmpv6', 132: 'sctp' };
export const protoName = (p: number): string => PROTO_NAMES[p] ?? String(p);

/** Orients a flow client -> service and projects it to what the rollups count. */
export function flowCopy(f: IdentifiedFlow): FlowCopy {
  const serviceIsA = f.port_a !== 0 && f.port_b !== 0 && f.port_a < f.port_b;
  const s = serviceIsA
    ? { vm: f.b_vm, host: f.b_host, tenant: f.b_tenant, p: f.packets_ba, b: f.bytes_ba }
    : { vm: f.a_vm, host: f.a_host, tenant: f.a_tenant, p: f.packets_ab, b: f.bytes_ab };
  const d = serviceIsA
    ? { vm: f.a_vm, host: f.a_host, tenant: f.a_tenant, p: f.packets_ab, b: f.bytes_ab, port: f.port_a }
    : { vm: f.b_vm, host: f.b_host, tenant: f.b_tenant, p: f.packets_ba, b: f.bytes_ba, port: f.port_b };
  const tenants = [...new Set([s.tenant, d.tenant].filter((t): t is string => t !== null))].sort();
  return {
    w: BigInt(f.window_start_ns), we: BigInt(f.window_end_ns), k: f.flow_key, op: f.observation_point, first: BigInt(f.first_seen_ns),
    proto: f.ip_proto, svcPort: d.port,
    src: s.vm ?? 'external', dst: d.vm ?? 'external', srcHost: s.vm ? (s.host ?? 'unknown') : 'external', dstHost: d.vm ? (d.host ?? 'unknown') : 'external',
    tenants: tenants.length ? tenants : ['unknown'],
    pf: BigInt(s.p), bf: BigInt(s.b), pr: BigInt(d.p), br: BigInt(d.b),
  };
}

/** The keys a flow counts under, per dimension. */
export function dimensionKeys(c: FlowCopy): [RollupDimension, string][] {
  const proto = protoName(c.proto);
  return [
    ['src_vm', c.src], ['dst_vm', c.dst], ['vm_pair', `${c.src}->${c.dst}`], ['protocol', proto],
    ['service_port', c.svcPort === 0 ? proto : `${proto}/${c.svcPort}`], ['host_pair', `${c.srcHost}->${c.dstHost}`],
    ...c.tenants.map((t): [RollupDimension, string] => ['tenant', t]),
  ];
}

/** Is copy x the one to count rather than y? */
function better(x: FlowCopy, y: FlowCopy): boolean {
  const px = x.pf + x.pr, py = y.pf + y.pr;
  if (px !== py) return px > py;
  if (x.first !== y.first) return x.first < y.first;
  return x.op < y.op;
}

export class RollupProcessor implements Processor<IdentifiedFlow> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<FlowCopy>;
  private readonly latenessNs: bigint;

  constructor(private readonly cfg: RollupConfig) {
    this.latenessNs = BigInt(cfg.allowedLatenessMs) * 1_000_000n;
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<FlowCopy>(ROLLUP_FLOWS_STORE);
  }

  process(rec: StreamRecord<IdentifiedFlow>): void {
    const c = flowCopy(rec.value);
    const sk = `${c.w}|${c.k}`;
    const prev = this.store.get(sk);
    if (prev && !better(c, prev)) { this.ctx.metrics.dropped('duplicate-observation'); return; }
    if (prev) this.ctx.metrics.dropped('duplicate-observation');
    this.store.put(sk, c);
  }

  punctuate(streamTimeNs: bigint): void {
    const byWindow = new Map<bigint, FlowCopy[]>();
    for (const [, c] of this.store.entries()) {
      if (c.we + this.latenessNs > streamTimeNs) continue;
      const l = byWindow.get(c.w) ?? [];
      l.push(c);
      byWindow.set(c.w, l);
    }
    for (const w of [...byWindow.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
      const copies = byWindow.get(w)!;
      for (const r of rollupsOf(copies, this.ctx.partition)) this.ctx.forward(this.cfg.outputTopic, `${r.window_start_ns}|${r.dimension}|${r.key}`, r);
      for (const c of copies) this.store.delete(`${c.w}|${c.k}`);
    }
  }

  close(): void { /* state is in the store */ }
}

/** Rollup records of one window's counted flow copies, sorted by dimension and key. */
export function rollupsOf(copies: FlowCopy[], partition: number): Rollup[] {
  const acc = new Map<string, Rollup>();
  for (const c of copies) {
    for (const [dim, key] of dimensionKeys(c)) {
      const id = `${dim}\u0000${key}`;
      let r = acc.get(id);
      if (!r) {
        r = { window_start_ns: c.w, window_end_ns: c.we, dimension: dim, key, packets_fwd: 0n, bytes_fwd: 0n, packets_rev: 0n, bytes_rev: 0n, flows: 0n, source_partition: partition };
        acc.set(id, r);
      }
      r.packets_fwd = BigInt(r.packets_fwd) + c.pf;
      r.bytes_fwd = BigInt(r.bytes_fwd) + c.bf;
      r.packets_rev = BigInt(r.packets_rev) + c.pr;
      r.bytes_rev = BigInt(r.bytes_rev) + c.br;
      r.flows = BigInt(r.flows) + 1n;
    }
  }
  return [...acc.values()].sort((x, y) => (x.dimension === y.dimension ? (x.key < y.key ? -1 : x.key > y.key ? 1 : 0) : x.dimension < y.dimension ? -1 : 1));
}
