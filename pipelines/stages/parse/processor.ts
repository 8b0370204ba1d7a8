/**
 * The `parse` processor: packet summaries with a payload prefix -> L7Event records.
 *
 * - UDP on a DNS port: one DNS message per datagram. TCP on a DNS port: length-prefixed messages.
 * - TCP otherwise, by content: a TLS handshake record holding a ClientHello/ServerHello, or the
 *   head of an HTTP/1.x request/response. UDP on an HTTP-over-UDP port (SSDP): HTTP heads.
 * - TCP segments are only parsed where a message can start: per direction the stage remembers
 *   the highest sequence number seen (retransmitted or duplicated data is skipped) and, when the
 *   previous message's length is known (DNS length prefix, HTTP Content-Length), where the next
 *   one starts; segments inside a message are skipped, so bodies are never parsed as heads.
 * - Requests wait in the store for their responses: DNS by (flow, id), HTTP first-in first-out
 *   per connection (1xx other than 101 answer nothing), TLS ClientHello -> ServerHello. Each
 *   queue is bounded per flow; a request whose timeout passes in event time is emitted once
 *   more as *_UNANSWERED (DNS, HTTP) or forgotten (TLS), and END_OF_STREAM flushes them all.
 * Nothing in a payload can make process() throw: parsers return reason codes, counted with
 * ctx.metrics.error('parse-<reason>'); a bug caught at the top is counted as 'parse-internal'.
 */
import type { PacketSummary } from '../../../schemas/types';
import type { L7Event, L7Kind } from '../../../schemas/l7-event';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import { END_OF_STREAM } from '../../runtime/types';
import type { ParseConfig } from './config';
import { parseDnsMessage, parseDnsTcp } from './dns';
import { httpStart, parseHttpHead } from './http';
import { parseTlsHello, tlsHelloStart } from './tls';
import { expireFlow, flowStoreKey as key, httpInfo, l7Event, newFlowState, type DirTrack, type ExpiryTimes, type FlowState,
  type WaitingHead } from './flow-state';
import { pairDns, pairHttp, pairTls, type PairingOutput } from './pairing';

export type { FlowState } from './flow-state';

export const PENDING_STORE = 'parse-flows';

/** Longest HTTP head the stage waits for across segments. */
const MAX_HEAD_WAIT = 16 * 1024;

const MS = 1_000_000n;
const sdiff = (x: number, y: number): number => (x - y) | 0;

export class ParseProcessor implements Processor<PacketSummary> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<FlowState>;
  private readonly dnsPorts: Set<number>;
  private readonly httpUdpPorts: Set<number>;
  private pairing!: PairingOutput;
  private readonly expiry: ExpiryTimes;
  private readonly scanEvery: bigint;
  /** scheduling hint only (not state): losing it merely makes the next scan come early */
  private nextScan = -1n;

  constructor(private readonly cfg: ParseConfig) {
    this.dnsPorts = new Set(cfg.dnsPorts);
    this.httpUdpPorts = new Set(cfg.httpUdpPorts);
    this.expiry = { dns: BigInt(cfg.dnsTimeoutMs) * MS, http: BigInt(cfg.httpTimeoutMs) * MS, tls: BigInt(cfg.tlsTimeoutMs) * MS,
      idle: BigInt(cfg.flowIdleMs) * MS };
    this.scanEvery = BigInt(cfg.expiryScanMs) * MS;
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<FlowState>(PENDING_STORE);
    this.pairing = { emit: (e) => this.emit(e), dropped: (reason, n) => ctx.metrics.dropped(reason, n),
      maxPendingPerFlow: this.cfg.maxPendingPerFlow, dnsRetransmitNs: BigInt(this.cfg.dnsRetransmitMs) * MS };
  }

  process(rec: StreamRecord<PacketSummary>): void {
    const p = rec.value;
    const pre = p.payload_prefix;
    if (pre === null || pre.length === 0 || p.src_ip === null || p.dst_ip === null || p.src_port === null || p.dst_port === null) return;
    if (p.ip_proto !== 6 && p.ip_proto !== 17) return;
    if (p.frag_offset !== 0) return; // a later fragment holds no L4 header
    try {
      if (p.ip_proto === 17) this.udp(p, pre);
      else this.tcp(p, pre);
    } catch (e) {
      this.ctx.metrics.error('parse-internal');
      this.ctx.log.warn({ err: (e as Error).message }, 'parse: internal error on a packet');
    }
  }

  // ---------------------------------------------------------------- UDP

  private udp(p: PacketSummary, pre: Buffer): void {
    const sp = p.src_port!, dp = p.dst_port!;
    const full = Math.max(p.l4_payload_len, pre.length);
    if (this.dnsPorts.has(sp) || this.dnsPorts.has(dp)) {
      const r = parseDnsMessage(pre, 0, pre.length, full);
      if (!r.ok) { this.failed(r.reason); return; }
      const { f, fromA } = this.flow(p);
      pairDns(this.pairing, f, fromA, BigInt(p.ts_ns), r.value);
      this.store.put(key(f), f);
    } else if (this.httpUdpPorts.has(sp) || this.httpUdpPorts.has(dp)) {
      const r = parseHttpHead(pre, pre.length, full, this.cfg.maxPathLen);
      if (!r.ok) { this.failed(r.reason); return; }
      const { f, fromA } = newFlowState(p);
      const kind: L7Kind = r.value.isRequest ? 'HTTP_REQUEST' : 'HTTP_RESPONSE';
      this.emit(l7Event(f, fromA, kind, BigInt(p.ts_ns), r.value.truncated, { http: httpInfo(r.value, null) }));
    }
  }

  // ---------------------------------------------------------------- TCP

  private tcp(p: PacketSummary, pre: Buffer): void {
    const len = p.l4_payload_len > 0 ? p.l4_payload_len : pre.length;
    const dnsPort = this.dnsPorts.has(p.src_port!) || this.dnsPorts.has(p.dst_port!);
    const seq = p.tcp_seq === null ? null : Number(p.tcp_seq) >>> 0;
    const { f, fromA } = this.flow(p);
    let t = fromA ? f.ta : f.tb;
    const other = fromA ? f.tb : f.ta;
    let atBoundary: boolean | null = null; // null: unknown, decide by content
    if (seq !== null) {
      const end = (seq + len) >>> 0;
      if (t === null) {
        // The peer's acknowledgment tells where this direction's data starts: beyond it, the
        // first bytes of this direction were not captured.
        if (other !== null && other.ack !== null && sdiff(seq, other.ack) > 0) this.gap(f, fromA);
        t = { end, next: null, ack: null, head: null };
        if (fromA) f.ta = t; else f.tb = t;
      } else {
        if (sdiff(end, t.end) <= 0) { this.ctx.metrics.dropped('tcp-retransmission'); this.touch(f, p); return; }
        const overlaps = sdiff(seq, t.end) < 0;
        // Bytes missing before this segment: harmless inside a body of known length, else a
        // message head may have been lost with them.
        if (sdiff(seq, t.end) > 0 && (t.next === null || sdiff(seq, t.next) > 0)) this.gap(f, fromA);
        t.end = end;
        if (overlaps) { this.touch(f, p); return; } // partly resent: does not start at a boundary we know
        if (t.next !== null) {
          const d = sdiff(seq, t.next);
          if (d < 0) { this.ackOf(t, p); this.touch(f, p); return; } // inside the current message
          atBoundary = d === 0;
          t.next = null;
        }
      }
      this.ackOf(t, p);
    }
    const ts = BigInt(p.ts_ns);
    // The peer speaks: a head it was sending is as complete as it will get.
    if (other !== null && other.head !== null) { this.flushHead(f, other.head); other.head = null; }
    if (t !== null && t.head !== null) {
      const w = t.head;
      t.head = null;
      if (atBoundary === true && seq !== null) { // the continuation of the waiting head
        const joined = Buffer.concat([Buffer.from(w.bytes, 'latin1'), pre]);
        this.httpBytes(f, fromA, t, w.ts, ts, joined, w.bytes.length + len, w.seq, pre.length >= len, w.bytes.length);
        this.touch(f, p);
        return;
      }
      this.flushHead(f, w);
    }
    if (dnsPort) {
      const r = parseDnsTcp(pre, pre.length, len);
      if (r.failure !== null && (atBoundary !== false || r.messages.length > 0)) this.failed(r.failure);
      for (const m of r.messages) pairDns(this.pairing, f, fromA, ts, m);
      if (t !== null && seq !== null && r.messages.length > 0 && r.consumed > 0) t.next = (seq + r.consumed) >>> 0;
    } else if (tlsHelloStart(pre, pre.length)) {
      const r = parseTlsHello(pre, pre.length, len);
      if (!r.ok) this.failed(r.reason);
      else pairTls(this.pairing, f, fromA, ts, r.value);
    } else if (httpStart(pre, pre.length) !== null) {
      this.httpBytes(f, fromA, t, ts, ts, pre, len, seq, pre.length >= len, len);
    } else if (atBoundary === true) {
      this.failed('tcp-unknown-message');
    }
    this.touch(f, p);
  }

  private ackOf(t: DirTrack, p: PacketSummary): void {
    if (p.tcp_ack !== null && p.tcp_flags !== null && (p.tcp_flags & 16) !== 0) t.ack = Number(p.tcp_ack) >>> 0;
  }

  /**
   * Data of this direction was lost before the current segment. When it is the responding side,
   * the responses to the requests waiting for it may have been in the lost bytes: pairing them
   * first-in first-out with later responses would shift every latency after, so they are dropped.
   */
  private gap(f: FlowState, fromA: boolean): void {
    const lost = f.http.filter((r) => r.fromA !== fromA).length;
    if (lost === 0) return;
    f.http = f.http.filter((r) => r.fromA === fromA);
    this.ctx.metrics.dropped('http-response-lost', lost);
  }

  // ---------------------------------------------------------------- HTTP

  /**
   * HTTP heads in `buf`, which stands for `len` bytes of the stream starting at `startSeq` (buf is
   * shorter when the prefix cut it; `complete` when it is not). One or more messages
   * (pipelining): each next head starts where the previous body ends. A head that fills all the
   * bytes without ending waits in the tracker for the next segment; heads starting in the first
   * `firstLen` bytes are stamped `firstTs`, later ones `laterTs`.
   */
  private httpBytes(f: FlowState, fromA: boolean, t: DirTrack | null, firstTs: bigint, laterTs: bigint, buf: Buffer, len: number,
    startSeq: number | null, complete: boolean, firstLen: number): void {
    let off = 0;
    for (;;) {
      const b = off === 0 ? buf : buf.subarray(off);
      const r = parseHttpHead(b, b.length, len - off, this.cfg.maxPathLen);
      if (!r.ok) { this.failed(r.reason); return; }
      const ts = off < firstLen ? firstTs : laterTs;
      if (r.value.headLen === null && complete && t !== null && startSeq !== null && b.length <= MAX_HEAD_WAIT) {
        t.head = { ts, fromA, seq: (startSeq + off) >>> 0, bytes: b.toString('latin1') };
        t.next = (startSeq + len) >>> 0;
        return;
      }
      const body = pairHttp(this.pairing, f, fromA, ts, r.value);
      if (r.value.headLen === null || body === null) return;
      off += r.value.headLen + body;
      if (off >= len) { if (t !== null && startSeq !== null) t.next = (startSeq + off) >>> 0; return; }
      if (off >= buf.length || httpStart(buf.subarray(off), buf.length - off) === null) return; // not visible / not a head
    }
  }

  /** A waiting head that will not be continued: reported with what it has (truncated). */
  private flushHead(f: FlowState, w: WaitingHead): void {
    const b = Buffer.from(w.bytes, 'latin1');
    const r = parseHttpHead(b, b.length, b.length + 1, this.cfg.maxPathLen);
    if (r.ok) pairHttp(this.pairing, f, w.fromA, w.ts, { ...r.value, truncated: true });
    else this.failed(r.reason);
  }

  // ---------------------------------------------------------------- expiry

  punctuate(streamTimeNs: bigint): void {
    const eos = streamTimeNs === END_OF_STREAM;
    if (!eos && streamTimeNs < this.nextScan) return;
    // END_OF_STREAM ends one bounded run only: a later run scans again from its own times.
    this.nextScan = eos ? -1n : streamTimeNs + this.scanEvery;
    const out: L7Event[] = [];
    const drop: string[] = [];
    const flush = (f: FlowState, w: WaitingHead) => this.flushHead(f, w);
    for (const [k, f] of this.store.entries()) {
      const r = expireFlow(f, streamTimeNs, eos, this.expiry, out, flush);
      if (r.drop) drop.push(k);
      else if (r.changed) this.store.put(k, f);
    }
    for (const k of drop) this.store.delete(k);
    out.sort((x, y) => (x.ts_ns < y.ts_ns ? -1 : x.ts_ns > y.ts_ns ? 1 : x.flow_key < y.flow_key ? -1 : x.flow_key > y.flow_key ? 1 : 0));
    for (const e of out) this.emit(e);
  }

  close(): void { /* state is in the store */ }

  // ---------------------------------------------------------------- helpers

  private failed(reason: string): void { this.ctx.metrics.error(`parse-${reason}`); }

  private emit(e: L7Event): void { this.ctx.forward(this.cfg.outputTopic, e.flow_key, e); }

  /** The flow's state from the store (a fresh one when new), with the direction of this packet. */
  private flow(p: PacketSummary): { f: FlowState; fromA: boolean } {
    const base = newFlowState(p);
    return { f: this.store.get(key(base.f)) ?? base.f, fromA: base.fromA };
  }

  private touch(f: FlowState, p: PacketSummary): void {
    const ts = BigInt(p.ts_ns);
    if (ts > f.last) f.last = ts;
    this.store.put(key(f), f);
  }
}
