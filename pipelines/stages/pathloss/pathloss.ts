/**
 * Path loss between observation points: every packet of a flow seen at one point is matched with
 * its copy at another by a fingerprint that survives forwarding (fingerprint.ts). Packets wait
 * in a per-flow pending set as "groups" (one packet, its copies per point) until the horizon
 * after their first sighting has passed in stream time; then the group is decided for every
 * pair of the flow's points: seen at both = matched (one-way delay = time difference), at one
 * only = lost (upstream only) or extra (downstream only). Counters go into the window of the
 * group's first sighting, per (flow, direction, point pair); upstream is decided when the window
 * is emitted (see the schema's `orientation`). Matching does not depend on the order in which
 * the sensors' records reach the partition, only on them arriving within the horizon.
 */
import { orderEndpoints, flowKeyOf } from '../../../lib/flow-key';
import type { PacketSummary } from '../../../schemas/types';
import type { PathLoss, PathOrientation } from '../../../schemas/path-loss';
import { END_OF_STREAM, type KeyValueStore, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/types';
import { isClosed, windowSpec, type WindowSpec } from '../../runtime/windows';
import type { PathLossConfig } from './config';
import { addressMatches, fingerprint } from './fingerprint';

export const FLOW_STORE = 'pathloss-flows';
export const WINDOW_STORE = 'pathloss-windows';

/** One point's sighting of a packet: first time, copies (>1 = duplicates at that point). */
interface Copy { op: string; ts: bigint; n: number }
/** One packet (one fingerprint instance) and its copies per point. */
interface Group { fp: string; ab: boolean; first: bigint; copies: Copy[] }

export interface FlowPending {
  k: string; proto: number; a: string; pa: number; b: string; pb: number;
  /** observation points that have seen this flow (either direction) */
  points: string[];
  /** pending groups, in arrival order */
  queue: Group[];
  /** fingerprint -> its pending groups (same objects as in queue) */
  idx: Map<string, Group[]>;
  /** `${ab}|${x}|${y}` -> upstream point of the last window with matches */
  orient: Record<string, string>;
  last: bigint;
}

/** Counters of one (window, flow, direction, pair x < y). dsum/dmin/dmax are of tsY - tsX. */
export interface PairWindow {
  w: bigint; k: string; proto: number; src: string; sp: number; dst: string; dp: number; ab: boolean; x: string; y: string;
  seenX: number; seenY: number; both: number; dupX: number; dupY: number; evicted: number;
  dsum: number; dmin: bigint | null; dmax: bigint | null;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

export class PathLossProcessor implements Processor<PacketSummary> {
  private ctx!: ProcessorContext;
  private flows!: KeyValueStore<FlowPending>;
  private windows!: KeyValueStore<PairWindow>;
  private readonly w: WindowSpec;
  private readonly horizon: bigint;
  private readonly dupWindow: bigint;
  private readonly senders: [string, string][];

  constructor(private readonly cfg: PathLossConfig) {
    // a window is final once every packet first seen in it has had its horizon, plus the lateness
    this.w = windowSpec(cfg.windowMs, undefined, cfg.horizonMs + cfg.allowedLatenessMs);
    this.horizon = BigInt(cfg.horizonMs) * 1_000_000n;
    this.dupWindow = BigInt(cfg.duplicateWindowUs) * 1_000n;
    this.senders = Object.entries(cfg.senderPoints);
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.flows = ctx.store<FlowPending>(FLOW_STORE);
    this.windows = ctx.store<PairWindow>(WINDOW_STORE);
  }

  process(rec: StreamRecord<PacketSummary>): void {
    const p = rec.value;
    if (p.src_ip === null || p.dst_ip === null) { this.ctx.metrics.dropped('not-ip'); return; }
    if (p.sampling_rate > 1) { this.ctx.metrics.dropped('sampled'); return; } // 1-in-N: copies cannot be paired
    const ts = BigInt(p.ts_ns);
    const start = ts - (((ts % this.w.sizeNs) + this.w.sizeNs) % this.w.sizeNs);
    if (isClosed(start, this.w, this.ctx.streamTimeNs())) { this.ctx.metrics.dropped('late'); return; }
    const e = orderEndpoints(p.ip_proto ?? 0, p.src_ip, p.src_port ?? 0, p.dst_ip, p.dst_port ?? 0);
    const k = flowKeyOf(e, p.tunnel_id);
    const f: FlowPending = this.flows.get(k) ?? { k, proto: e.ip_proto, a: e.addr_a, pa: e.port_a, b: e.addr_b, pb: e.port_b,
      points: [], queue: [], idx: new Map(), orient: {}, last: ts };
    const op = p.observation_point;
    if (!f.points.includes(op)) f.points.push(op);
    if (ts > f.last) f.last = ts;
    const fp = fingerprint(p, e.srcIsA ? 'ab' : 'ba');
    const list = f.idx.get(fp);
    if (!list || !this.join(list, op, ts)) {
      const g: Group = { fp, ab: e.srcIsA, first: ts, copies: [{ op, ts, n: 1 }] };
      f.queue.push(g);
      if (list) list.push(g); else f.idx.set(fp, [g]);
      while (f.queue.length > this.cfg.maxPendingPerFlow) {
        const old = f.queue.shift()!;
        this.unindex(f, old);
        this.decide(f, old, true);
      }
    }
    this.flows.put(k, f);
  }

  /** Adds the sighting to a pending group of the same fingerprint; false when none takes it. */
  private join(list: Group[], op: string, ts: bigint): boolean {
    for (const g of list) {
      const c = g.copies.find((x) => x.op === op);
      if (c) {
        if (abs(c.ts - ts) <= this.dupWindow) { c.n++; if (ts < c.ts) c.ts = ts; return true; } // the same packet again at this point
        continue; // another packet with the same fingerprint
      }
      if (abs(g.first - ts) <= this.horizon) {
        g.copies.push({ op, ts, n: 1 });
        if (ts < g.first) g.first = ts;
        return true;
      }
    }
    return false;
  }

  private unindex(f: FlowPending, g: Group): void {
    const list = f.idx.get(g.fp);
    if (!list) return;
    const i = list.indexOf(g);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) f.idx.delete(g.fp);
  }

  /** Counts a group (its horizon passed, or evicted) for every pair of the flow's points. */
  private decide(f: FlowPending, g: Group, evicted: boolean): void {
    const points = [...(this.cfg.points ?? f.points)].sort();
    const w = g.first - (((g.first % this.w.sizeNs) + this.w.sizeNs) % this.w.sizeNs);
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        const x = points[i], y = points[j];
        const cx = g.copies.find((c) => c.op === x), cy = g.copies.find((c) => c.op === y);
        if (!cx && !cy) continue;
        const key = `${w}|${f.k}|${g.ab ? 'ab' : 'ba'}|${x}|${y}`;
        const s = this.windows.get(key) ?? {
          w, k: f.k, proto: f.proto, ab: g.ab, x, y,
          src: g.ab ? f.a : f.b, sp: g.ab ? f.pa : f.pb, dst: g.ab ? f.b : f.a, dp: g.ab ? f.pb : f.pa,
          seenX: 0, seenY: 0, both: 0, dupX: 0, dupY: 0, evicted: 0, dsum: 0, dmin: null, dmax: null,
        };
        if (cx) { s.seenX++; s.dupX += cx.n - 1; }
        if (cy) { s.seenY++; s.dupY += cy.n - 1; }
        if (cx && cy) {
          const d = cy.ts - cx.ts;
          s.both++;
          s.dsum += Number(d);
          if (s.dmin === null || d < s.dmin) s.dmin = d;
          if (s.dmax === null || d > s.dmax) s.dmax = d;
        }
        if (evicted) s.evicted++;
        this.windows.put(key, s);
      }
    }
    if (evicted) this.ctx.metrics.dropped('pending-full');
  }

  punctuate(t: bigint): void {
    // 1. groups whose horizon has passed are decided
    for (const [k, f] of [...this.flows.entries()]) {
      const keep: Group[] = [];
      let changed = false;
      for (const g of f.queue) {
        if (t === END_OF_STREAM || g.first + this.horizon <= t) { this.unindex(f, g); this.decide(f, g, false); changed = true; } else keep.push(g);
      }
      if (changed) { f.queue = keep; this.flows.put(k, f); }
    }
    // 2. windows whose packets have all been decided are emitted
    const closing: [string, PairWindow][] = [];
    for (const [key, s] of this.windows.entries()) if (isClosed(s.w, this.w, t)) closing.push([key, s]);
    closing.sort(([a, x], [b, y]) => (x.w === y.w ? (a < b ? -1 : 1) : x.w < y.w ? -1 : 1));
    for (const [key, s] of closing) {
      this.ctx.forward(this.cfg.outputTopic, s.k, this.toRecord(s));
      this.windows.delete(key);
    }
    // 3. an idle flow with nothing pending is forgotten (its points and orientation with it)
    for (const [k, f] of [...this.flows.entries()]) {
      if (f.queue.length === 0 && (t === END_OF_STREAM || f.last + this.w.sizeNs + this.w.latenessNs < t)) this.flows.delete(k);
    }
  }

  /** Decides which point of the pair is upstream and turns the counters into a record. */
  private toRecord(s: PairWindow): PathLoss {
    const okey = `${s.ab}|${s.x}|${s.y}`;
    const f = this.flows.get(s.k);
    let up: string, how: PathOrientation;
    const configured = this.senders.find(([pat, op]) => (op === s.x || op === s.y) && addressMatches(pat, s.src));
    if (configured) { up = configured[1]; how = 'CONFIGURED'; }
    else if (s.both > 0) {
      up = s.dsum >= 0 ? s.x : s.y; how = 'DELAY';
      if (f) { f.orient[okey] = up; this.flows.put(s.k, f); }
    } else if (f?.orient[okey]) { up = f.orient[okey]; how = 'PREVIOUS'; }
    else { up = s.seenX >= s.seenY ? s.x : s.y; how = 'MAJORITY'; }
    const xUp = up === s.x;
    const seenUp = xUp ? s.seenX : s.seenY, seenDown = xUp ? s.seenY : s.seenX;
    return {
      window_start_ns: s.w, window_end_ns: s.w + this.w.sizeNs, flow_key: s.k, ip_proto: s.proto,
      src_ip: s.src, src_port: s.sp, dst_ip: s.dst, dst_port: s.dp,
      upstream_point: up, downstream_point: xUp ? s.y : s.x, orientation: how,
      seen_upstream: BigInt(seenUp), seen_downstream: BigInt(seenDown), matched: BigInt(s.both),
      lost: BigInt(seenUp - s.both), extra: BigInt(seenDown - s.both),
      duplicates_upstream: BigInt(xUp ? s.dupX : s.dupY), duplicates_downstream: BigInt(xUp ? s.dupY : s.dupX),
      evicted: BigInt(s.evicted),
      // delays as downstream - upstream: tsY - tsX when x is upstream, its negation otherwise
      delay_mean_ns: s.both > 0 ? (xUp ? s.dsum : -s.dsum) / s.both : null,
      delay_min_ns: s.dmin === null ? null : xUp ? s.dmin : -s.dmax!,
      delay_max_ns: s.dmax === null ? null : xUp ? s.dmax : -s.dmin!,
    };
  }

  close(): void { /* state is in the stores */ }
}
