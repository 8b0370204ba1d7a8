/**
 * DNS message parser (RFC 1035 header and first question), for UDP payloads and for the
 * length-prefixed messages of DNS over TCP (RFC 7766). Works on a payload prefix: when the bytes
 * end before the message does, the header fields that are present are returned with
 * `truncated` set and the missing ones null.
 */
import { fail, ok, type Parsed } from './result';

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  tc: boolean;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  qname: string | null;
  qtype: number | null;
  qclass: number | null;
  /** the message continues beyond the bytes given */
  truncated: boolean;
}

const MAX_NAME = 255;

/**
 * One DNS message in b[start, avail) whose real end is `end` (end may exceed avail when the
 * payload prefix cut it). Offsets of compression pointers are relative to `start`.
 */
export function parseDnsMessage(b: Buffer, start: number, avail: number, end: number): Parsed<DnsMessage> {
  if (avail > b.length) avail = b.length;
  const cut = avail < end;
  const lim = cut ? avail : end;
  if (end - start < 12) return fail('dns-short-message');
  if (lim - start < 12) return fail('dns-truncated-header');
  const flags = b.readUInt16BE(start + 2);
  const m: DnsMessage = {
    id: b.readUInt16BE(start),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    tc: (flags & 0x0200) !== 0,
    qdcount: b.readUInt16BE(start + 4),
    ancount: b.readUInt16BE(start + 6),
    nscount: b.readUInt16BE(start + 8),
    arcount: b.readUInt16BE(start + 10),
    qname: null, qtype: null, qclass: null,
    truncated: cut,
  };
  if (m.qdcount === 0) return ok(m);
  const name = readName(b, start, start + 12, lim);
  if (name === 'cut') return ok({ ...m, truncated: true });
  if (typeof name !== 'object') return fail(name);
  m.qname = name.name;
  if (name.next + 4 > lim) return ok({ ...m, truncated: true });
  m.qtype = b.readUInt16BE(name.next);
  m.qclass = b.readUInt16BE(name.next + 2) & 0x7fff;
  return ok(m);
}

/**
 * A (possibly compressed) domain name at `off`; 'cut' when the bytes end inside it, or a reason
 * code when it is invalid. `next` is the offset after the name where it was read (not followed).
 */
export function readName(b: Buffer, msgStart: number, off: number, lim: number): { name: string; next: number } | 'cut' | string {
  const labels: string[] = [];
  let total = 0;
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (off >= lim) return 'cut';
    const len = b[off];
    if (len === 0) { if (next < 0) next = off + 1; break; }
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > lim) return 'cut';
      const ptr = msgStart + (((len & 0x3f) << 8) | b[off + 1]);
      if (next < 0) next = off + 2;
      if (++jumps > 64 || ptr >= off) return 'dns-bad-pointer'; // pointers go backwards: no loops
      off = ptr;
      continue;
    }
    if ((len & 0xc0) !== 0) return 'dns-bad-label-type';
    if (off + 1 + len > lim) return 'cut';
    total += len + 1;
    if (total > MAX_NAME) return 'dns-name-too-long';
    labels.push(labelText(b, off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { name: labels.length === 0 ? '<Root>' : labels.join('.'), next };
}

/** Label bytes as Wireshark prints them: printable ASCII as is, anything else as \ddd. */
function labelText(b: Buffer, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const c = b[i];
    out += c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\${c.toString(10).padStart(3, '0')}`;
  }
  return out;
}

export interface DnsTcpResult {
  messages: DnsMessage[];
  /** failures met while walking the segment (the walk stops at the first one) */
  failure: string | null;
  /** bytes from the segment start to the end of the last message that starts in it (may exceed the segment) */
  consumed: number;
}

/**
 * DNS over TCP: a segment that starts at a message boundary holds one or more messages, each
 * behind a two-byte length. `avail` bytes are present of a segment of `segLen` bytes.
 */
export function parseDnsTcp(b: Buffer, avail: number, segLen: number): DnsTcpResult {
  const out: DnsTcpResult = { messages: [], failure: null, consumed: 0 };
  if (avail > b.length) avail = b.length;
  let off = 0;
  while (off < segLen) {
    if (off + 2 > avail) { if (out.messages.length === 0) out.failure = off + 2 > segLen ? 'dns-tcp-short' : 'dns-tcp-truncated-length'; break; }
    const len = b.readUInt16BE(off);
    if (len < 12) { out.failure = 'dns-tcp-bad-length'; break; }
    const r = parseDnsMessage(b, off + 2, Math.min(avail, off + 2 + len), off + 2 + len);
    if (!r.ok) { out.failure = r.reason; break; }
    out.messages.push(r.value);
    off += 2 + len;
    out.consumed = off;
    if (off > avail) break;
  }
  return out;
}
