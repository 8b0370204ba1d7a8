/**
 * TLS ClientHello / ServerHello parser (RFC 8446 / 5246): the first handshake message of the
 * first record in a segment. Reads SNI, ALPN and supported_versions so a TLS 1.3 hello (whose
 * legacy version field says 1.2) is reported as TLS 1.3. A prefix that ends inside the hello
 * gives every field before the cut, with `truncated` set.
 */
import { fail, ok, printable, type Parsed } from './result';

export interface TlsHello {
  handshakeType: 1 | 2;
  recordVersion: number;
  legacyVersion: number;
  /** extension 43 as sent (GREASE included); ServerHello: the selected version */
  supportedVersions: number[];
  sni: string | null;
  alpn: string[];
  cipherSuite: number | null;
  truncated: boolean;
}

export const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0002: return 'SSL 2.0';
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    case 0xfeff: return 'DTLS 1.0';
    case 0xfefd: return 'DTLS 1.2';
    case 0xfefc: return 'DTLS 1.3';
    default:
      if ((v >> 8) === 0x7f) return `TLS 1.3 draft ${v & 0xff}`;
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

/** Ordering of versions for "highest offered": drafts of 1.3 just below 1.3 itself. */
function rank(v: number): number {
  if ((v >> 8) === 0x7f) return 0x0303 * 256 + (v & 0xff);
  return v * 256 + (v === 0x0304 ? 255 : 0);
}

/** The version a hello stands for: ServerHello's selection, or the highest a ClientHello offers. */
export function effectiveVersion(h: TlsHello): number {
  let best = -1;
  for (const v of h.supportedVersions) if (!isGrease(v) && (best < 0 || rank(v) > rank(best))) best = v;
  return best >= 0 ? best : h.legacyVersion;
}

/** Cheap test: a TLS handshake record carrying a ClientHello (1) or ServerHello (2). */
export function tlsHelloStart(b: Buffer, avail: number): boolean {
  const n = Math.min(avail, b.length);
  return n >= 6 && b[0] === 22 && b[1] === 3 && b[2] <= 4 && (b[5] === 1 || b[5] === 2);
}

export function parseTlsHello(b: Buffer, avail: number, fullLen: number): Parsed<TlsHello> {
  const have = Math.min(avail, b.length, fullLen);
  if (!tlsHelloStart(b, have)) return fail('tls-not-hello');
  const recLen = b.readUInt16BE(3);
  if (recLen < 4) return fail('tls-bad-record-length');
  const hsLen = have >= 9 ? b.readUIntBE(6, 3) : -1;
  const h: TlsHello = { handshakeType: b[5] as 1 | 2, recordVersion: b.readUInt16BE(1), legacyVersion: 0,
    supportedVersions: [], sni: null, alpn: [], cipherSuite: null, truncated: false };
  // Read up to the end of the hello, of its record (a hello may continue in the next record),
  // or of the bytes given, whichever comes first; stopping before the hello's end is `truncated`.
  const end = hsLen >= 0 ? 9 + hsLen : Infinity;
  const lim = Math.min(have, end, 5 + recLen);
  const cut = () => { h.truncated = true; return ok(h); };
  let o = 9;
  if (o + 2 > lim) return cut();
  h.legacyVersion = b.readUInt16BE(o);
  o += 2 + 32; // random
  if (o + 1 > lim) return cut();
  o += 1 + b[o]; // session id
  if (h.handshakeType === 1) {
    if (o + 2 > lim) return cut();
    const csLen = b.readUInt16BE(o);
    if (csLen & 1) return fail('tls-bad-cipher-suites');
    o += 2 + csLen;
    if (o + 1 > lim) return cut();
    o += 1 + b[o]; // compression methods
  } else {
    if (o + 2 > lim) return cut();
    h.cipherSuite = b.readUInt16BE(o);
    o += 3; // cipher suite + compression method
  }
  if (o === end) return ok(h); // no extensions
  if (o + 2 > lim) return cut();
  const extEnd = o + 2 + b.readUInt16BE(o);
  if (extEnd > end) return fail('tls-bad-extensions-length');
  o += 2;
  while (o < extEnd) {
    if (o + 4 > lim) return cut();
    const type = b.readUInt16BE(o), len = b.readUInt16BE(o + 2);
    const ds = o + 4, de = ds + len;
    if (de > extEnd) return fail('tls-bad-extension-length');
    if (de > lim) return cut();
    const r = extension(b, h, type, ds, de);
    if (r !== null) return fail(r);
    o = de;
  }
  return ok(h);
}

/** Reads one extension's data b[s, e); a reason code when it is malformed. */
function extension(b: Buffer, h: TlsHello, type: number, s: number, e: number): string | null {
  switch (type) {
    case 0: { // server_name
      if (h.handshakeType !== 1 || e === s) return null; // ServerHello echoes it empty
      if (s + 2 > e || s + 2 + b.readUInt16BE(s) > e) return 'tls-bad-sni';
      let o = s + 2;
      while (o + 3 <= e) {
        const nt = b[o], nl = b.readUInt16BE(o + 1);
        if (o + 3 + nl > e) return 'tls-bad-sni';
        if (nt === 0 && h.sni === null) h.sni = printable(b, o + 3, o + 3 + nl);
        o += 3 + nl;
      }
      return null;
    }
    case 16: { // application_layer_protocol_negotiation
      if (s + 2 > e || s + 2 + b.readUInt16BE(s) > e) return 'tls-bad-alpn';
      let o = s + 2;
      while (o < e) {
        const l = b[o];
        if (o + 1 + l > e) return 'tls-bad-alpn';
        h.alpn.push(printable(b, o + 1, o + 1 + l));
        o += 1 + l;
      }
      return null;
    }
    case 43: { // supported_versions
      if (h.handshakeType === 2) {
        if (e - s !== 2) return 'tls-bad-supported-versions';
        h.supportedVersions.push(b.readUInt16BE(s));
        return null;
      }
      const l = b[s];
      if (s + 1 + l > e || (l & 1)) return 'tls-bad-supported-versions';
      for (let o = s + 1; o + 2 <= s + 1 + l; o += 2) h.supportedVersions.push(b.readUInt16BE(o));
      return null;
    }
    default:
      return null;
  }
}
