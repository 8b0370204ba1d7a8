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
import { orderEndpoints, flowKeyOf } from '../../../lib/flow-key';
import type { PacketSummary } from '../../../schemas/types';
import type { HttpInfo, L7Event, L7Kind } from '../../../schemas/l7-event';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import { END_OF_STREAM } from '../../runtime/types';
import type { ParseConfig } from './config';
import { parseDnsMessage, parseDnsTcp, type DnsMessage } from './dns';
import { httpStart, parseHttpHead, type HttpHead } from './http';
import { effectiveVersion, parseTlsHello, tlsHelloStart, tlsVersionName, type TlsHello } from './tls';

export const PENDING_STORE = 'parse-flows';

/** Per direction of a TCP flow (sequence numbers as unsigned 32-bit numbers). */
interface DirTrack {
  /** end of the highest data seen */
  end: number;
  /** where the next message starts, when the current one's length is known */
  next: number | null;
  /** the last acknowledgment number this direction sent (where the peer's data stands) */
  ack: number | null;
  /** an HTTP head that filled its whole segment without ending: waits for the next segment */
  head: WaitingHead | null;
}

/** The bytes of an incomplete HTTP head (latin1) and where/when it started. */
interface WaitingHead { ts: bigint; fromA: boolean; seq: number; bytes: string }

/** Longest HTTP head the stage waits for across segments. */
const MAX_HEAD_WAIT = 16 * 1024;

interface PendingDns {
  id: number; ts: bigint; fromA: boolean; answered: boolean; trunc: boolean;
  m: DnsMessage;
}
interface PendingHttp { ts: bigint; fromA: boolean; h: HttpHead }
interface PendingTls { ts: bigint; fromA: boolean }

/** Everything the stage remembers about one flow at one observation point. */
export interface FlowState {
  k: string; op: string; proto: number; a: string; pa: number; b: string; pb: number; tun: bigint | null;
  last: bigint;
  ta: DirTrack | null; tb: DirTrack | null;
  dns: PendingDns[]; http: PendingHttp[]; tls: PendingTls | null;
}

const MS = 1_000_000n;
const sdiff = (x: number, y: number): number => (x - y) | 0;

export class ParseProcessor implements Processor<PacketSummary> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<FlowState>;
  private readonly dnsPorts: Set<number>;
  private readonly httpUdpPorts: Set<number>;
  private readonly dnsTimeout: bigint;
  private readonly dnsRetransmit: bigint;
  private readonly httpTimeout: bigint;
  private readonly tlsTimeout: bigint;
  private readonly idle: bigint;
  private readonly scanEvery: bigint;
  /** scheduling hint only (not state): losing it merely makes the next scan come early */
  private nextScan = -1n;

  constructor(private readonly cfg: ParseConfig) {
    this.dnsPorts = new Set(cfg.dnsPorts);
    this.httpUdpPorts = new Set(cfg.httpUdpPorts);
    this.dnsTimeout = BigInt(cfg.dnsTimeoutMs) * MS;
    this.dnsRetransmit = BigInt(cfg.dnsRetransmitMs) * MS;
    this.httpTimeout = BigInt(cfg.httpTimeoutMs) * MS;
    this.tlsTimeout = BigInt(cfg.tlsTimeoutMs) * MS;
    this.idle = BigInt(cfg.flowIdleMs) * MS;
    this.scanEvery = BigInt(cfg.expiryScanMs) * MS;
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<FlowState>(PENDING_STORE);
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
      this.dns(f, fromA, BigInt(p.ts_ns), r.value);
      this.store.put(key(f), f);
    } else if (this.httpUdpPorts.has(sp) || this.httpUdpPorts.has(dp)) {
      const r = parseHttpHead(pre, pre.length, full, this.cfg.maxPathLen);
      if (!r.ok) { this.failed(r.reason); return; }
      const { f, fromA } = this.peek(p);
      const kind: L7Kind = r.value.isRequest ? 'HTTP_REQUEST' : 'HTTP_RESPONSE';
      this.emit(this.event(f, fromA, kind, BigInt(p.ts_ns), r.value.truncated, { http: httpInfo(r.value, null) }));
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
      for (const m of r.messages) this.dns(f, fromA, ts, m);
      if (t !== null && seq !== null && r.messages.length > 0 && r.consumed > 0) t.next = (seq + r.consumed) >>> 0;
    } else if (tlsHelloStart(pre, pre.length)) {
      const r = parseTlsHello(pre, pre.length, len);
      if (!r.ok) this.failed(r.reason);
      else this.tls(f, fromA, ts, r.value);
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

  // ---------------------------------------------------------------- DNS

  private dns(f: FlowState, fromA: boolean, ts: bigint, m: DnsMessage): void {
    if (!m.isResponse) {
      let retrans = false;
      const prev = f.dns.find((q) => q.id === m.id);
      if (prev && !prev.answered && ts - prev.ts < this.dnsRetransmit) retrans = true;
      else {
        if (prev) {
          // Same id again after the retransmission window (or after its answer): a new
          // transaction. An unanswered predecessor is reported now rather than lost.
          f.dns.splice(f.dns.indexOf(prev), 1);
          if (!prev.answered) this.emit({ ...this.event(f, prev.fromA, 'DNS_UNANSWERED', ts, prev.trunc, { dns: dnsInfo(prev.m) }), request_ts_ns: prev.ts });
        }
        if (f.dns.length >= this.cfg.maxPendingPerFlow) { f.dns.shift(); this.ctx.metrics.dropped('dns-pending-overflow'); }
        f.dns.push({ id: m.id, ts, fromA, answered: false, trunc: m.truncated, m });
      }
      this.emit({ ...this.event(f, fromA, 'DNS_QUERY', ts, m.truncated, { dns: dnsInfo(m) }), retransmission: retrans });
    } else {
      const q = f.dns.find((x) => x.id === m.id);
      const e = this.event(f, fromA, 'DNS_RESPONSE', ts, m.truncated, { dns: dnsInfo(m) });
      if (q) {
        e.request_ts_ns = q.ts;
        e.latency_ns = ts - q.ts;
        e.retransmission = q.answered;
        q.answered = true; // kept until its timeout so a repeated response is seen as such
      }
      this.emit(e);
    }
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
      const body = this.http(f, fromA, ts, r.value);
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
    if (r.ok) this.http(f, w.fromA, w.ts, { ...r.value, truncated: true });
    else this.failed(r.reason);
  }

  /** Returns the body length that follows the head when it is known, else null. */
  private http(f: FlowState, fromA: boolean, ts: bigint, h: HttpHead): number | null {
    if (h.isRequest) {
      if (f.http.length >= this.cfg.maxPendingPerFlow) { f.http.shift(); this.ctx.metrics.dropped('http-pending-overflow'); }
      f.http.push({ ts, fromA, h });
      this.emit(this.event(f, fromA, 'HTTP_REQUEST', ts, h.truncated, { http: httpInfo(h, null) }));
      return h.chunked ? null : h.contentLength ?? 0;
    }
    const st = h.status ?? 0;
    const informational = st >= 100 && st < 200 && st !== 101;
    const e = this.event(f, fromA, 'HTTP_RESPONSE', ts, h.truncated, { http: httpInfo(h, null) });
    let req: PendingHttp | undefined;
    if (!informational) {
      const i = f.http.findIndex((r) => r.fromA !== fromA);
      if (i >= 0) req = f.http.splice(i, 1)[0];
    }
    if (req) {
      e.request_ts_ns = req.ts;
      e.latency_ns = ts - req.ts;
      e.http = httpInfo(h, req.h);
    }
    this.emit(e);
    // After 101 or a successful CONNECT the connection carries another protocol.
    if (h.chunked || st === 101 || (req?.h.method === 'CONNECT' && st >= 200 && st < 300)) return null;
    if (informational || st === 204 || st === 304 || req?.h.method === 'HEAD') return 0;
    return h.contentLength; // unknown without Content-Length: read until close
  }

  // ---------------------------------------------------------------- TLS

  private tls(f: FlowState, fromA: boolean, ts: bigint, t: TlsHello): void {
    const info = {
      handshake_type: t.handshakeType, record_version: t.recordVersion, legacy_version: t.legacyVersion,
      supported_versions: t.supportedVersions, version: tlsVersionName(effectiveVersion(t)), sni: t.sni, alpn: t.alpn,
      cipher_suite: t.cipherSuite,
    };
    if (t.handshakeType === 1) {
      f.tls = { ts, fromA };
      this.emit(this.event(f, fromA, 'TLS_CLIENT_HELLO', ts, t.truncated, { tls: info }));
      return;
    }
    const e = this.event(f, fromA, 'TLS_SERVER_HELLO', ts, t.truncated, { tls: info });
    if (f.tls && f.tls.fromA !== fromA) {
      e.request_ts_ns = f.tls.ts;
      e.latency_ns = ts - f.tls.ts;
      f.tls = null;
    }
    this.emit(e);
  }

  // ---------------------------------------------------------------- expiry

  punctuate(streamTimeNs: bigint): void {
    const eos = streamTimeNs === END_OF_STREAM;
    if (!eos && streamTimeNs < this.nextScan) return;
    // END_OF_STREAM ends one bounded run only: a later run scans again from its own times.
    this.nextScan = eos ? -1n : streamTimeNs + this.scanEvery;
    const out: L7Event[] = [];
    const drop: string[] = [];
    for (const [k, f] of this.store.entries()) {
      let changed = false;
      for (const t of [f.ta, f.tb]) {
        if (t?.head && (eos || t.head.ts + this.httpTimeout <= streamTimeNs || f.last + this.idle <= streamTimeNs)) {
          this.flushHead(f, t.head);
          t.head = null;
          changed = true;
        }
      }
      const keepDns: PendingDns[] = [];
      for (const q of f.dns) {
        if (eos || q.ts + this.dnsTimeout <= streamTimeNs) {
          changed = true;
          if (!q.answered) out.push({ ...this.event(f, q.fromA, 'DNS_UNANSWERED', q.ts + this.dnsTimeout, q.trunc, { dns: dnsInfo(q.m) }), request_ts_ns: q.ts });
        } else keepDns.push(q);
      }
      const keepHttp: PendingHttp[] = [];
      for (const r of f.http) {
        if (eos || r.ts + this.httpTimeout <= streamTimeNs) {
          changed = true;
          out.push({ ...this.event(f, r.fromA, 'HTTP_UNANSWERED', r.ts + this.httpTimeout, r.h.truncated, { http: httpInfo(r.h, null) }), request_ts_ns: r.ts });
        } else keepHttp.push(r);
      }
      if (f.tls && (eos || f.tls.ts + this.tlsTimeout <= streamTimeNs)) { f.tls = null; changed = true; }
      if (changed) { f.dns = keepDns; f.http = keepHttp; }
      const empty = f.dns.length === 0 && f.http.length === 0 && f.tls === null;
      if (empty && (eos || f.ta === null && f.tb === null || f.last + this.idle <= streamTimeNs)) drop.push(k);
      else if (changed) this.store.put(k, f);
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
    const base = this.peek(p);
    return { f: this.store.get(key(base.f)) ?? base.f, fromA: base.fromA };
  }

  /** A fresh flow state for this packet, without looking at the store. */
  private peek(p: PacketSummary): { f: FlowState; fromA: boolean } {
    const e = orderEndpoints(p.ip_proto!, p.src_ip!, p.src_port!, p.dst_ip!, p.dst_port!);
    const f: FlowState = { k: flowKeyOf(e, p.tunnel_id), op: p.observation_point, proto: e.ip_proto, a: e.addr_a, pa: e.port_a,
      b: e.addr_b, pb: e.port_b, tun: p.tunnel_id === null ? null : BigInt(p.tunnel_id), last: BigInt(p.ts_ns),
      ta: null, tb: null, dns: [], http: [], tls: null };
    return { f, fromA: e.srcIsA };
  }

  private touch(f: FlowState, p: PacketSummary): void {
    const ts = BigInt(p.ts_ns);
    if (ts > f.last) f.last = ts;
    this.store.put(key(f), f);
  }

  private event(f: FlowState, fromA: boolean, kind: L7Kind, ts: bigint, truncated: boolean, body: Partial<L7Event>): L7Event {
    return {
      ts_ns: ts, observation_point: f.op, flow_key: f.k, ip_proto: f.proto,
      src_ip: fromA ? f.a : f.b, src_port: fromA ? f.pa : f.pb, dst_ip: fromA ? f.b : f.a, dst_port: fromA ? f.pb : f.pa,
      tunnel_id: f.tun, kind, truncated, request_ts_ns: null, latency_ns: null, retransmission: false,
      dns: null, http: null, tls: null, ...body,
    };
  }
}

const key = (f: FlowState): string => `${f.op}|${f.k}`;

function dnsInfo(m: DnsMessage) {
  return { id: m.id, is_response: m.isResponse, opcode: m.opcode, rcode: m.rcode, tc: m.tc, qname: m.qname, qtype: m.qtype,
    qclass: m.qclass, question_count: m.qdcount, answer_count: m.ancount, authority_count: m.nscount, additional_count: m.arcount };
}

/** HTTP fields of a message; for a response, the request's method/host/path when it was matched. */
function httpInfo(h: HttpHead, req: HttpHead | null): HttpInfo {
  const r = h.isRequest ? h : req;
  return { method: r?.method ?? null, host: r?.host ?? null, path: r?.path ?? null, path_truncated: r?.pathTruncated ?? false,
    version: h.version, status: h.status, content_length: h.contentLength };
}
