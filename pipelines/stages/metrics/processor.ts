/**
 * The `metrics` processor: per flow and observation point, connection state across windows
 * (store `metrics-conns`), and per tumbling event-time window an accumulator (store
 * `metrics-windows`) emitted as a FlowMetrics record once stream time passes the window end
 * plus the allowed lateness. A sample belongs to the window of the packet that completes it.
 * A packet whose window is already closed still updates the connection state (sequence
 * tracking must not skip it) but its counts and samples are dropped, counted as `late`
 * (the aggregate stage forwards the late packets themselves).
 */
import { Counter, Gauge } from 'prom-client';
import { packetFlow, windowKey } from '../../../lib/flow-key';
import { registry } from '../../../lib/metrics';
import type { MetricsPacket } from './packet';
import type { VmInventory } from '../../../schemas/vm-inventory';
import { END_OF_STREAM, type GlobalTableView, type KeyValueStore, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/types';
import type { MetricsConfig } from './config';
import { icmpPacket } from './icmp';
import { newHandshake, tcpSegment, type HandshakeState } from './tcp';
import { newDirState, type DirState, type TcpContext } from './tcp-state';
import { countPacket, newWindowAcc, tcpCounters, toFlowMetrics, RTT_KINDS, SecondCursor, type EndpointVm, type WindowAcc } from './window';
import { WindowCursor, windowSpec } from '../../runtime/windows';

export const CONN_STORE = 'metrics-conns';
export const WINDOW_STORE = 'metrics-windows';
export const META_STORE = 'metrics-meta';
/** global table: the VM inventory (tapline.inventory.v1), for NIC capacities */
export const INVENTORY_TABLE = 'inventory';

export interface ConnState {
  /** event time origin of the relative times inside (ns) */
  t0: bigint;
  last: bigint;
  d: [DirState, DirState];
  hs: HandshakeState;
  /** pending ICMP echo requests */
  icmp: number[];
  /** last RTT sample per kind (NaN: none yet), for jitter across windows */
  prev: number[];
  /** TCP: FIN seen from A (1) / B (2); closed = RST or both FINs seen */
  fin: number;
  closed: boolean;
}

export interface MetaState {
  /** earliest stream time at which some open window can close */
  nextClose: bigint;
  lastEvictScan: bigint;
  evictedIdle: number;
  evictedClosed: number;
  /** packets of connections not tracked because the store held maxConnections */
  untracked: number;
}

const evictions = new Counter({ name: 'tapline_flow_state_evictions_total', help: 'connection states evicted by the metrics stage', labelNames: ['component', 'reason'], registers: [registry] });
const connections = new Gauge({ name: 'tapline_flow_state_connections', help: 'connection states held by the metrics stage (per task, last punctuate)', labelNames: ['component', 'partition'], registers: [registry] });

export class MetricsProcessor implements Processor<MetricsPacket> {
  private ctx!: ProcessorContext;
  private conns!: KeyValueStore<ConnState>;
  private windows!: KeyValueStore<WindowAcc>;
  private meta!: KeyValueStore<MetaState>;
  private inventory!: GlobalTableView<VmInventory>;
  private readonly windowNs: bigint;
  private readonly latenessNs: bigint;
  private readonly idleNs: bigint;
  private readonly lingerNs: bigint;
  private readonly scanEveryNs: bigint;
  /** reused per packet: no allocation on the hot path */
  private readonly cx: TcpContext;
  /** the current window's start and close time, and the current second, without BigInt arithmetic per packet */
  private readonly window: WindowCursor;
  private readonly second = new SecondCursor();

  constructor(private readonly cfg: MetricsConfig) {
    this.windowNs = BigInt(cfg.windowMs) * 1_000_000n;
    this.latenessNs = BigInt(cfg.allowedLatenessMs) * 1_000_000n;
    this.idleNs = BigInt(cfg.idleTimeoutMs) * 1_000_000n;
    this.lingerNs = BigInt(cfg.closedLingerMs) * 1_000_000n;
    this.scanEveryNs = this.lingerNs > 0n && this.lingerNs < this.idleNs / 4n ? this.lingerNs : this.idleNs / 4n;
    this.cx = { cfg, acc: null, prev: [] };
    this.window = new WindowCursor(windowSpec(cfg.windowMs, undefined, cfg.allowedLatenessMs));
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.conns = ctx.store<ConnState>(CONN_STORE);
    this.windows = ctx.store<WindowAcc>(WINDOW_STORE);
    this.meta = ctx.store<MetaState>(META_STORE);
    this.inventory = ctx.globalTable<VmInventory>(INVENTORY_TABLE);
  }

  /** The VM holding `addr` at `ts` (the window's first packet), as the inventory knows it when the window closes. */
  private vmAt(addr: string, ts: bigint): EndpointVm | null {
    const r = this.inventory.lookup(`ip:${addr}`, ts);
    if (!r) return null;
    const cap = r.value.nic_capacity_bps;
    return { vm: r.key, capacityBps: cap === null ? null : Number(cap) };
  }

  private state(): MetaState {
    let m = this.meta.get('meta');
    if (!m) { m = { nextClose: END_OF_STREAM, lastEvictScan: -1n, evictedIdle: 0, evictedClosed: 0, untracked: 0 }; this.meta.put('meta', m); }
    return m;
  }

  process(rec: StreamRecord<MetricsPacket>): void {
    const p = rec.value;
    if (p.src_ip === null || p.dst_ip === null) { this.ctx.metrics.dropped('not-ip'); return; }
    const ts = BigInt(p.ts_ns);
    this.window.seek(ts);
    const w = this.window.starts[0], closeAt = this.window.closes[0];
    const f = packetFlow(p);
    const e = f.e, k = f.key;
    const dir: 0 | 1 = e.srcIsA ? 0 : 1;

    let acc: WindowAcc | null = null;
    if (closeAt <= this.ctx.streamTimeNs()) {
      this.ctx.metrics.dropped('late');
    } else {
      const wk = windowKey(f, w);
      acc = this.windows.get(wk) ?? null;
      if (!acc) {
        acc = newWindowAcc(w, { k, op: p.observation_point, proto: e.ip_proto, a: e.addr_a, pa: e.port_a, b: e.addr_b, pb: e.port_b }, ts);
        const m = this.state();
        if (closeAt < m.nextClose) { m.nextClose = closeAt; this.meta.put('meta', m); }
      }
      const n = p.sampling_rate > 1 ? p.sampling_rate : 1;
      countPacket(acc, dir, ts, this.second.of(ts), p.wire_len * n, n);
      this.windows.put(wk, acc);
    }
    // Sampled packets (sFlow) carry no usable sequence or echo pairing.
    if (p.sampling_rate > 1) return;

    const proto = p.ip_proto;
    const isTcp = proto === 6 && p.tcp_seq !== null;
    const isEcho = (proto === 1 || proto === 58) && p.icmp_type !== null && p.icmp_id !== null;
    if (!isTcp && !isEcho) return;
    const ck = f.pointKey;
    let c = this.conns.get(ck);
    if (!c && this.conns.size >= this.cfg.maxConnections) {
      // bounded state (e.g. a SYN flood): the packet still counts for throughput, not for RTT/loss
      const m = this.state();
      m.untracked++;
      this.meta.put('meta', m);
      this.ctx.metrics.dropped('untracked-connection');
      return;
    }
    if (!c) {
      c = { t0: ts, last: ts, d: [newDirState(), newDirState()], hs: newHandshake(), icmp: [], prev: new Array<number>(RTT_KINDS).fill(NaN), fin: 0, closed: false };
    }
    const cx = this.cx;
    cx.acc = acc;
    cx.prev = c.prev;
    const t = Number(ts - c.t0);
    if (isTcp) {
      if (acc) tcpCounters(acc); // a TCP flow's record always carries both directions' counters
      tcpSegment(cx, c.d, c.hs, dir, p, t);
      const f = p.tcp_flags ?? 0;
      if ((f & 2) && !(f & 16)) { c.fin = 0; c.closed = false; } // SYN: (re)opening
      if (f & 1) c.fin |= 1 << dir;
      if ((f & 4) || c.fin === 3) c.closed = true;
    }
    else icmpPacket(cx, c.icmp, dir, p, t);
    if (ts > c.last) c.last = ts;
    this.conns.put(ck, c);
    cx.acc = null;
  }

  punctuate(streamTimeNs: bigint): void {
    const m = this.state();
    if (streamTimeNs >= m.nextClose) this.closeWindows(streamTimeNs, m);
    if (streamTimeNs === END_OF_STREAM) {
      for (const [k] of [...this.conns.entries()]) this.conns.delete(k);
    } else if (m.lastEvictScan < 0n || streamTimeNs - m.lastEvictScan >= this.scanEveryNs) {
      m.lastEvictScan = streamTimeNs;
      const idleBefore = streamTimeNs - this.idleNs, closedBefore = streamTimeNs - this.lingerNs;
      const idle: string[] = [], closed: string[] = [];
      for (const [k, c] of this.conns.entries()) {
        if (c.last < idleBefore) idle.push(k);
        else if (c.closed && c.last < closedBefore) closed.push(k);
      }
      for (const k of idle) this.conns.delete(k);
      for (const k of closed) this.conns.delete(k);
      if (idle.length > 0) {
        m.evictedIdle += idle.length;
        evictions.inc({ component: this.ctx.stage, reason: 'idle' }, idle.length);
      }
      if (closed.length > 0) {
        m.evictedClosed += closed.length;
        evictions.inc({ component: this.ctx.stage, reason: 'closed' }, closed.length);
      }
    }
    connections.set({ component: this.ctx.stage, partition: String(this.ctx.partition) }, this.conns.size);
    this.meta.put('meta', m);
  }

  private closeWindows(streamTimeNs: bigint, m: MetaState): void {
    const closeBefore = streamTimeNs - this.windowNs - this.latenessNs; // windows starting at or before this are final
    const closing: [string, WindowAcc][] = [];
    let next = END_OF_STREAM;
    for (const [key, a] of this.windows.entries()) {
      if (a.w <= closeBefore) closing.push([key, a]);
      else if (a.w + this.windowNs + this.latenessNs < next) next = a.w + this.windowNs + this.latenessNs;
    }
    closing.sort(([, x], [, y]) => (x.w === y.w ? (x.k === y.k ? (x.op < y.op ? -1 : 1) : x.k < y.k ? -1 : 1) : x.w < y.w ? -1 : 1));
    for (const [key, a] of closing) {
      this.ctx.forward(this.cfg.outputTopic, a.k, toFlowMetrics(a, this.windowNs, this.cfg.relativeAccuracy, this.vmAt(a.a, a.first), this.vmAt(a.b, a.first)));
      this.windows.delete(key);
    }
    this.ctx.metrics.sent(closing.length);
    m.nextClose = next;
  }

  close(): void { /* state is in the stores */ }
}
