/**
 * What the `parse` stage remembers per flow (the value of its store), and the pure helpers
 * that build L7Event records from it. Kept apart from the processor so the state's shape, its
 * expiry rules and the record layout can be read (and changed) without the parsing logic.
 */
import { orderEndpoints, flowKeyOf } from '../../../lib/flow-key';
import type { PacketSummary } from '../../../schemas/types';
import type { HttpInfo, L7Event, L7Kind } from '../../../schemas/l7-event';
import type { DnsMessage } from './dns';
import type { HttpHead } from './http';

/** Per direction of a TCP flow (sequence numbers as unsigned 32-bit numbers). */
export interface DirTrack {
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
export interface WaitingHead { ts: bigint; fromA: boolean; seq: number; bytes: string }

export interface PendingDns {
  id: number; ts: bigint; fromA: boolean; answered: boolean; trunc: boolean;
  m: DnsMessage;
}
export interface PendingHttp { ts: bigint; fromA: boolean; h: HttpHead }
export interface PendingTls { ts: bigint; fromA: boolean }

/** Everything the stage remembers about one flow at one observation point. */
export interface FlowState {
  k: string; op: string; proto: number; a: string; pa: number; b: string; pb: number; tun: bigint | null;
  last: bigint;
  ta: DirTrack | null; tb: DirTrack | null;
  dns: PendingDns[]; http: PendingHttp[]; tls: PendingTls | null;
}

/** The store key of a flow: observation point and flow key (the same flow seen at two ports is two states). */
export const flowStoreKey = (f: FlowState): string => `${f.op}|${f.k}`;

/** A fresh flow state for this packet (an IP packet with ports), and whether it was sent by endpoint A. */
export function newFlowState(p: PacketSummary): { f: FlowState; fromA: boolean } {
  const e = orderEndpoints(p.ip_proto!, p.src_ip!, p.src_port!, p.dst_ip!, p.dst_port!);
  const f: FlowState = { k: flowKeyOf(e, p.tunnel_id), op: p.observation_point, proto: e.ip_proto, a: e.addr_a, pa: e.port_a,
    b: e.addr_b, pb: e.port_b, tun: p.tunnel_id === null ? null : BigInt(p.tunnel_id), last: BigInt(p.ts_ns),
    ta: null, tb: null, dns: [], http: [], tls: null };
  return { f, fromA: e.srcIsA };
}

/** An L7Event of this flow, sent by A (`fromA`) or B; `body` sets the kind-specific fields. */
export function l7Event(f: FlowState, fromA: boolean, kind: L7Kind, ts: bigint, truncated: boolean, body: Partial<L7Event>): L7Event {
  return {
    ts_ns: ts, observation_point: f.op, flow_key: f.k, ip_proto: f.proto,
    src_ip: fromA ? f.a : f.b, src_port: fromA ? f.pa : f.pb, dst_ip: fromA ? f.b : f.a, dst_port: fromA ? f.pb : f.pa,
    tunnel_id: f.tun, kind, truncated, request_ts_ns: null, latency_ns: null, retransmission: false,
    dns: null, http: null, tls: null, ...body,
  };
}

export function dnsInfo(m: DnsMessage) {
  return { id: m.id, is_response: m.isResponse, opcode: m.opcode, rcode: m.rcode, tc: m.tc, qname: m.qname, qtype: m.qtype,
    qclass: m.qclass, question_count: m.qdcount, answer_count: m.ancount, authority_count: m.nscount, additional_count: m.arcount };
}

/** HTTP fields of a message; for a response, the request's method/host/path when it was matched. */
export function httpInfo(h: HttpHead, req: HttpHead | null): HttpInfo {
  const r = h.isRequest ? h : req;
  return { method: r?.method ?? null, host: r?.host ?? null, path: r?.path ?? null, path_truncated: r?.pathTruncated ?? false,
    version: h.version, status: h.status, content_length: h.contentLength };
}

/** Event-time limits of the expiry scan (ns). */
export interface ExpiryTimes { dns: bigint; http: bigint; tls: bigint; idle: bigint }

/**
 * Expires what waited too long in one flow at stream time `now` (everything at END_OF_STREAM):
 * unanswered DNS and HTTP requests become *_UNANSWERED events in `out` (stamped at their
 * timeout, so the output does not depend on when the scan ran), a ClientHello without answer
 * is forgotten, an HTTP head still waiting for its continuation is handed to `flushHead`.
 * Returns whether the flow changed and whether it can be dropped (nothing pending, and idle
 * or without TCP tracking).
 */
export function expireFlow(f: FlowState, now: bigint, eos: boolean, t: ExpiryTimes, out: L7Event[],
  flushHead: (f: FlowState, w: WaitingHead) => void): { changed: boolean; drop: boolean } {
  let changed = false;
  for (const d of [f.ta, f.tb]) {
    if (d?.head && (eos || d.head.ts + t.http <= now || f.last + t.idle <= now)) {
      flushHead(f, d.head);
      d.head = null;
      changed = true;
    }
  }
  const keepDns: PendingDns[] = [];
  for (const q of f.dns) {
    if (eos || q.ts + t.dns <= now) {
      changed = true;
      if (!q.answered) out.push({ ...l7Event(f, q.fromA, 'DNS_UNANSWERED', q.ts + t.dns, q.trunc, { dns: dnsInfo(q.m) }), request_ts_ns: q.ts });
    } else keepDns.push(q);
  }
  const keepHttp: PendingHttp[] = [];
  for (const r of f.http) {
    if (eos || r.ts + t.http <= now) {
      changed = true;
      out.push({ ...l7Event(f, r.fromA, 'HTTP_UNANSWERED', r.ts + t.http, r.h.truncated, { http: httpInfo(r.h, null) }), request_ts_ns: r.ts });
    } else keepHttp.push(r);
  }
  if (f.tls && (eos || f.tls.ts + t.tls <= now)) { f.tls = null; changed = true; }
  if (changed) { f.dns = keepDns; f.http = keepHttp; }
  const empty = f.dns.length === 0 && f.http.length === 0 && f.tls === null;
  return { changed, drop: empty && (eos || (f.ta === null && f.tb === null) || f.last + t.idle <= now) };
}
