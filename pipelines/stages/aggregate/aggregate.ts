/**
 * Flow aggregation: per bidirectional flow and tumbling event-time window, packets and bytes
 * each way. A window is emitted once stream time passes its end plus the allowed lateness; a
 * record for a window that has already been emitted is late: counted and sent, unchanged, to
 * the late-records topic (never silently merged into a closed window or lost).
 */
import { packetFlow, windowKey } from '../../../lib/flow-key';
import type { FlowWindow, PacketSummary } from '../../../schemas/types';
import { END_OF_STREAM, originalValue, type KeyValueStore, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/types';
import type { AggregateConfig } from './config';
import { isClosed, WindowCursor, windowSpec, type WindowSpec } from '../../runtime/windows';

export const FLOW_STORE = 'flow-windows';

/** The packet fields this stage reads: only these are decoded (StageDefinition.input.fields). */
export const AGGREGATE_FIELDS = ['ts_ns', 'observation_point', 'sampling_rate', 'wire_len', 'malformed', 'src_ip', 'dst_ip',
  'ip_proto', 'src_port', 'dst_port', 'tunnel_id', 'tcp_flags', 'tcp_window'] as const;
export type AggregatePacket = Pick<PacketSummary, typeof AGGREGATE_FIELDS[number]>;

/** Compact state per open (window, flow): ~12 fields, no per-packet growth. */
export interface FlowState {
  w: bigint; // window start ns
  k: string; // flow key
  proto: number; a: string; pa: number; b: string; pb: number; op: string;
  pab: number; bab: number; pba: number; bba: number;
  syn: number; synack: number; fin: number; rst: number; zwin: number; bad: number;
  first: bigint; last: bigint;
}

const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

export class AggregateProcessor implements Processor<AggregatePacket> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<FlowState>;
  private readonly w: WindowSpec;
  /**
   * Earliest stream time at which an open window closes: a cache derived from the store (0 =
   * unknown: scan), so punctuations that close nothing do not walk every (packed) entry.
   */
  private nextClose = 0n;
  private readonly cursor: WindowCursor;

  constructor(private readonly cfg: AggregateConfig) {
    this.w = windowSpec(cfg.windowMs, cfg.advanceMs, cfg.allowedLatenessMs);
    this.cursor = new WindowCursor(this.w);
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<FlowState>(FLOW_STORE);
  }

  process(rec: StreamRecord<AggregatePacket>): void {
    const p = rec.value;
    if (p.src_ip === null || p.dst_ip === null) {
      this.ctx.metrics.dropped('not-ip');
      return;
    }
    const ts = BigInt(p.ts_ns);
    this.cursor.seek(ts);
    const { starts, closes } = this.cursor;
    // ctx.streamTimeNs() is the time reached before this record (see runtime/task.ts). Late
    // means: even the newest window holding it has been emitted already.
    const streamTime = this.ctx.streamTimeNs();
    if (closes[closes.length - 1] <= streamTime) {
      this.ctx.metrics.dropped('late');
      const original = originalValue(rec); // the whole packet, as received
      if (original === null) this.ctx.metrics.error('AVRO_DECODE'); // a field this stage skips does not decode
      else this.ctx.forward(this.cfg.lateTopic, rec.key, original);
      return;
    }
    const f = packetFlow(p);
    const e = f.e, k = f.key;
    const n = p.sampling_rate > 1 ? p.sampling_rate : 1;
    for (let i = 0; i < starts.length; i++) {
      if (closes[i] <= streamTime) {
        this.ctx.metrics.dropped('late-hop'); // counted in the newer hops, too late for this one
        continue;
      }
      const w = starts[i];
      const sk = windowKey(f, w);
      let s = this.store.get(sk);
      if (!s) {
        s = { w, k, proto: e.ip_proto, a: e.addr_a, pa: e.port_a, b: e.addr_b, pb: e.port_b, op: p.observation_point,
          pab: 0, bab: 0, pba: 0, bba: 0, syn: 0, synack: 0, fin: 0, rst: 0, zwin: 0, bad: 0, first: ts, last: ts };
        if (this.nextClose !== 0n && closes[i] < this.nextClose) this.nextClose = closes[i];
      }
      addPacket(s, p, e.srcIsA, n, ts);
      this.store.put(sk, s);
    }
  }

  punctuate(streamTimeNs: bigint): void {
    if (this.nextClose !== 0n && streamTimeNs < this.nextClose) return;
    const closing: FlowState[] = [];
    let next = END_OF_STREAM;
    for (const [, s] of this.store.entries()) {
      if (isClosed(s.w, this.w, streamTimeNs)) closing.push(s);
      else if (s.w + this.w.sizeNs + this.w.latenessNs < next) next = s.w + this.w.sizeNs + this.w.latenessNs;
    }
    this.nextClose = next;
    closing.sort((x, y) => (x.w === y.w ? (x.k < y.k ? -1 : 1) : x.w < y.w ? -1 : 1));
    for (const s of closing) {
      this.ctx.forward(this.cfg.outputTopic, s.k, toFlowWindow(s, this.w.sizeNs));
      this.store.delete(`${s.w}|${s.op}|${s.k}`);
    }
  }

  close(): void { /* state is in the store; nothing else to release */ }
}

function addPacket(s: FlowState, p: AggregatePacket, srcIsA: boolean, n: number, ts: bigint): void {
  if (srcIsA) { s.pab += n; s.bab += p.wire_len * n; } else { s.pba += n; s.bba += p.wire_len * n; }
  const f = p.tcp_flags;
  if (f !== null) {
    if (f & SYN) { if (f & ACK) s.synack += n; else s.syn += n; }
    if (f & FIN) s.fin += n;
    if (f & RST) s.rst += n;
    else if (p.tcp_window === 0) s.zwin += n;
  }
  if (p.malformed) s.bad += n;
  if (ts < s.first) s.first = ts;
  if (ts > s.last) s.last = ts;
}

export function toFlowWindow(s: FlowState, windowNs: bigint): FlowWindow {
  return {
    window_start_ns: s.w, window_end_ns: s.w + windowNs, flow_key: s.k, ip_proto: s.proto,
    addr_a: s.a, port_a: s.pa, addr_b: s.b, port_b: s.pb,
    packets_ab: s.pab, bytes_ab: s.bab, packets_ba: s.pba, bytes_ba: s.bba,
    syn_count: s.syn, synack_count: s.synack, fin_count: s.fin, rst_count: s.rst, zero_window_count: s.zwin, malformed_count: s.bad,
    first_seen_ns: s.first, last_seen_ns: s.last, observation_point: s.op,
  };
}
