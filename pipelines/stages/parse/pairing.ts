/**
 * Request -> response pairing of the `parse` stage: DNS by (flow, id), HTTP first-in first-out
 * per connection, TLS ClientHello -> ServerHello. Each pairing emits the request's event at once
 * and the response's event with the request's time and the latency; the requests waiting for
 * an answer live in the flow's state (bounded per flow; the oldest is dropped and counted) until
 * their response or their timeout (flow-state.ts expireFlow).
 */
import type { L7Event } from '../../../schemas/l7-event';
import type { DnsMessage } from './dns';
import type { HttpHead } from './http';
import { effectiveVersion, tlsVersionName, type TlsHello } from './tls';
import { dnsInfo, httpInfo, l7Event, type FlowState, type PendingHttp } from './flow-state';

/** Where pairing sends its events and drop counts, and its limits. */
export interface PairingOutput {
  emit(e: L7Event): void;
  dropped(reason: string, n?: number): void;
  maxPendingPerFlow: number;
  /** a query repeated (same id, unanswered) within this time is a retransmission, not a new transaction */
  dnsRetransmitNs: bigint;
}

/** A DNS query waits for its response by (flow, id); a response gets the query's time and latency. */
export function pairDns(out: PairingOutput, f: FlowState, fromA: boolean, ts: bigint, m: DnsMessage): void {
  if (!m.isResponse) {
    let retrans = false;
    const prev = f.dns.find((q) => q.id === m.id);
    if (prev && !prev.answered && ts - prev.ts < out.dnsRetransmitNs) retrans = true;
    else {
      if (prev) {
        // Same id again after the retransmission window (or after its answer): a new
        // transaction. An unanswered predecessor is reported now rather than lost.
        f.dns.splice(f.dns.indexOf(prev), 1);
        if (!prev.answered) out.emit({ ...l7Event(f, prev.fromA, 'DNS_UNANSWERED', ts, prev.trunc, { dns: dnsInfo(prev.m) }), request_ts_ns: prev.ts });
      }
      if (f.dns.length >= out.maxPendingPerFlow) { f.dns.shift(); out.dropped('dns-pending-overflow'); }
      f.dns.push({ id: m.id, ts, fromA, answered: false, trunc: m.truncated, m });
    }
    out.emit({ ...l7Event(f, fromA, 'DNS_QUERY', ts, m.truncated, { dns: dnsInfo(m) }), retransmission: retrans });
  } else {
    const q = f.dns.find((x) => x.id === m.id);
    const e = l7Event(f, fromA, 'DNS_RESPONSE', ts, m.truncated, { dns: dnsInfo(m) });
    if (q) {
      e.request_ts_ns = q.ts;
      e.latency_ns = ts - q.ts;
      e.retransmission = q.answered;
      q.answered = true; // kept until its timeout so a repeated response is seen as such
    }
    out.emit(e);
  }
}

/**
 * HTTP requests wait first-in first-out per connection; a response (not 1xx other than 101)
 * answers the oldest request of the other side. Returns the body length that follows the head
 * when it is known, else null.
 */
export function pairHttp(out: PairingOutput, f: FlowState, fromA: boolean, ts: bigint, h: HttpHead): number | null {
  if (h.isRequest) {
    if (f.http.length >= out.maxPendingPerFlow) { f.http.shift(); out.dropped('http-pending-overflow'); }
    f.http.push({ ts, fromA, h });
    out.emit(l7Event(f, fromA, 'HTTP_REQUEST', ts, h.truncated, { http: httpInfo(h, null) }));
    return h.chunked ? null : h.contentLength ?? 0;
  }
  const st = h.status ?? 0;
  const informational = st >= 100 && st < 200 && st !== 101;
  const e = l7Event(f, fromA, 'HTTP_RESPONSE', ts, h.truncated, { http: httpInfo(h, null) });
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
  out.emit(e);
  // After 101 or a successful CONNECT the connection carries another protocol.
  if (st === 101 || (req?.h.method === 'CONNECT' && st >= 200 && st < 300)) return null;
  // No body whatever the headers say (RFC 9112 6.3: HEAD, 1xx, 204, 304), even with Transfer-Encoding.
  if (informational || st === 204 || st === 304 || req?.h.method === 'HEAD') return 0;
  if (h.chunked) return null;
  return h.contentLength; // unknown without Content-Length: read until close
}

/** A ClientHello waits for the other side's ServerHello (one per flow). */
export function pairTls(out: PairingOutput, f: FlowState, fromA: boolean, ts: bigint, t: TlsHello): void {
  const info = {
    handshake_type: t.handshakeType, record_version: t.recordVersion, legacy_version: t.legacyVersion,
    supported_versions: t.supportedVersions, version: tlsVersionName(effectiveVersion(t)), sni: t.sni, alpn: t.alpn,
    cipher_suite: t.cipherSuite,
  };
  if (t.handshakeType === 1) {
    f.tls = { ts, fromA };
    out.emit(l7Event(f, fromA, 'TLS_CLIENT_HELLO', ts, t.truncated, { tls: info }));
    return;
  }
  const e = l7Event(f, fromA, 'TLS_SERVER_HELLO', ts, t.truncated, { tls: info });
  if (f.tls && f.tls.fromA !== fromA) {
    e.request_ts_ns = f.tls.ts;
    e.latency_ns = ts - f.tls.ts;
    f.tls = null;
  }
  out.emit(e);
}
