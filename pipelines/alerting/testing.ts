/**
 * Test helpers for the detector stages (used by their *.test.ts only): identified flow windows
 * between named VMs, and a chain that runs the repartition stage and a detector on the
 * in-memory driver with several partitions, exactly as the topics connect them.
 */
import type { Alert } from '../../schemas/alert';
import type { IdentifiedFlow } from '../../schemas/identified-flow';
import type { StageDefinition } from '../runtime/types';
import { TopologyTestDriver } from '../runtime/test-driver';

export const S = 1_000_000_000n;

export interface VmRef { vm: string | null; addr: string; host: string | null; tenant: string | null }

export const vmRef = (vm: string, addr: string, host = 'h1', tenant: string | null = 'acme'): VmRef => ({ vm, addr, host, tenant });
export const ext = (addr: string): VmRef => ({ vm: null, addr, host: null, tenant: null });

/** A flow window from client c:cport to service s:sport (A/B ordered as the flow key does). */
export function iflow(c: VmRef, cport: number, s: VmRef, sport: number, windowSec: number, x: Partial<{
  proto: number; pktsFwd: number; pktsRev: number; bytesFwd: number; bytesRev: number; syn: number; synack: number; rst: number; op: string; windowLen: number;
}> = {}): IdentifiedFlow {
  const len = BigInt(x.windowLen ?? 10);
  const w = BigInt(windowSec) * S;
  const cIsA = c.addr < s.addr || (c.addr === s.addr && cport <= sport);
  const [A, pa, B, pb] = cIsA ? [c, cport, s, sport] : [s, sport, c, cport];
  const fwdP = BigInt(x.pktsFwd ?? 10), revP = BigInt(x.pktsRev ?? 8), fwdB = BigInt(x.bytesFwd ?? 1000), revB = BigInt(x.bytesRev ?? 4000);
  const proto = x.proto ?? 6;
  const host = (r: VmRef) => r.host;
  const cls = !A.vm || !B.vm ? 'external' : host(A) === host(B) ? 'intra_host' : 'inter_host';
  return {
    window_start_ns: w, window_end_ns: w + len * S, flow_key: `${proto}|${A.addr}|${pa}|${B.addr}|${pb}`, ip_proto: proto,
    addr_a: A.addr, port_a: pa, addr_b: B.addr, port_b: pb,
    packets_ab: cIsA ? fwdP : revP, bytes_ab: cIsA ? fwdB : revB, packets_ba: cIsA ? revP : fwdP, bytes_ba: cIsA ? revB : fwdB,
    syn_count: BigInt(x.syn ?? 0), synack_count: BigInt(x.synack ?? 0), fin_count: 0n, rst_count: BigInt(x.rst ?? 0), zero_window_count: 0n, malformed_count: 0n,
    first_seen_ns: w, last_seen_ns: w + S, observation_point: x.op ?? 'mon:h1',
    observed_host: null,
    a_vm: A.vm, a_name: A.vm, a_host: A.host, a_tenant: A.tenant,
    b_vm: B.vm, b_name: B.vm, b_host: B.host, b_tenant: B.tenant, traffic_class: cls,
  };
}

/** Repartition stage + detector on the driver, `partitions` tasks each, connected like their topics. */
export class Chain<V> {
  readonly rekey: TopologyTestDriver<V>;
  readonly detector: TopologyTestDriver<V>;

  constructor(rekeyDef: StageDefinition<V>, detectorDef: StageDefinition<V>, private readonly partitions = 4) {
    this.rekey = new TopologyTestDriver(rekeyDef, partitions);
    this.detector = new TopologyTestDriver(detectorDef, partitions);
  }

  push(v: V, key: string | null = null): void {
    this.rekey.pipeInput(key, v);
    const topic = Object.keys(this.rekey.def.outputs)[0];
    for (const o of this.rekey.readOutput<V>(topic)) this.detector.pipeInput(o.key, o.value);
  }

  /**
   * Advances every detector task's stream time to `sec` (a record that belongs to no subject
   * the test looks at, one per partition), so windows close as they would with steady traffic.
   */
  tick(sec: number, make: (p: number, sec: number) => V): void {
    for (let p = 0; p < this.partitions; p++) this.detector.pipeInput(`tick|${p}`, make(p, sec), p);
  }

  end(): void { this.detector.endOfStream(); }

  alerts(): Alert[] {
    const topic = Object.keys(this.detector.def.outputs)[0];
    return this.detector.readOutput<Alert>(topic).map((o) => { if (o.key !== o.value.dedup_key) throw new Error('alert not keyed by dedup_key'); return o.value; });
  }
}

/** `type state` per alert, for compact lifecycle assertions. */
export const states = (as: Alert[]): string[] => as.map((a) => `${a.type} ${a.state}`);
