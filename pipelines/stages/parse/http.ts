/**
 * HTTP/1.x message-head parser: request line (method, target, version) or status line, then
 * the Host, Content-Length and Transfer-Encoding headers. It only needs the start of a message
 * (a payload prefix); when the head ends beyond the bytes given, the fields read so far are
 * returned with `truncated` set.
 */
import { fail, ok, printable, type Parsed } from './result';

/** Methods recognised at the start of a segment (RFC 9110, WebDAV, SSDP/GENA), as Wireshark does. */
export const HTTP_METHODS = new Set([
  'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT',
  'CHECKOUT', 'CHECKIN', 'MERGE', 'MKACTIVITY', 'MKWORKSPACE', 'VERSION-CONTROL', 'BASELINE-CONTROL',
  'LABEL', 'UNCHECKOUT', 'ACL', 'POLL', 'BCOPY', 'BMOVE', 'BDELETE', 'BPROPFIND', 'BPROPPATCH',
  'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PRI',
]);
const MAX_METHOD = 17;

export interface HttpHead {
  isRequest: boolean;
  method: string | null;
  /** request-target, cut to maxPath characters */
  path: string | null;
  pathTruncated: boolean;
  version: string | null;
  status: number | null;
  host: string | null;
  contentLength: number | null;
  chunked: boolean;
  /** bytes of the head including the blank line; null when its end was not in the bytes given */
  headLen: number | null;
  truncated: boolean;
}

/** Cheap test of the first bytes: 'request', 'response' or null (not the start of an HTTP message). */
export function httpStart(b: Buffer, avail: number): 'request' | 'response' | null {
  const n = Math.min(avail, b.length);
  if (n >= 5 && b[0] === 0x48 && b[1] === 0x54 && b[2] === 0x54 && b[3] === 0x50 && b[4] === 0x2f) return 'response'; // "HTTP/"
  let i = 0;
  while (i < n && i <= MAX_METHOD && ((b[i] >= 0x41 && b[i] <= 0x5a) || b[i] === 0x2d)) i++;
  if (i === 0 || i > MAX_METHOD || i >= n || b[i] !== 0x20) return null;
  return HTTP_METHODS.has(b.toString('latin1', 0, i)) ? 'request' : null;
}

/** The position of the next CRLF (or bare LF) at or after `from`, or -1. */
function eol(b: Buffer, from: number, lim: number): number {
  for (let i = from; i < lim; i++) if (b[i] === 0x0a) return i > from && b[i - 1] === 0x0d ? i - 1 : i;
  return -1;
}
const after = (b: Buffer, e: number): number => (b[e] === 0x0d ? e + 2 : e + 1);

/**
 * Parses the head of the message at the start of `b` (`avail` bytes present, `fullLen` in the
 * segment). A start line that is not HTTP/1.x fails with a reason code.
 */
export function parseHttpHead(b: Buffer, avail: number, fullLen: number, maxPath: number): Parsed<HttpHead> {
  const lim = Math.min(avail, b.length, fullLen);
  const kind = httpStart(b, lim);
  if (kind === null) return fail('http-not-http');
  const h: HttpHead = { isRequest: kind === 'request', method: null, path: null, pathTruncated: false, version: null,
    status: null, host: null, contentLength: null, chunked: false, headLen: null, truncated: false };
  const e = eol(b, 0, lim);
  const lineEnd = e < 0 ? lim : e;
  if (h.isRequest) {
    const sp1 = b.indexOf(0x20, 0);
    h.method = b.toString('latin1', 0, sp1);
    let t = sp1 + 1;
    const sp2 = b.lastIndexOf(0x20, lineEnd - 1);
    const tEnd = e < 0 ? (sp2 > sp1 && isVersion(b, sp2 + 1, lineEnd, true) ? sp2 : lineEnd) : sp2 > sp1 ? sp2 : lineEnd;
    if (e >= 0) {
      if (sp2 <= sp1) return fail('http-bad-request-line');
      if (!isVersion(b, sp2 + 1, lineEnd, false)) return fail('http-bad-version');
      h.version = b.toString('latin1', sp2 + 1, lineEnd);
    } else if (tEnd === sp2 && lineEnd - sp2 - 1 === 8) {
      h.version = b.toString('latin1', sp2 + 1, lineEnd);
    }
    while (t < tEnd && b[t] === 0x20) t++;
    const n = tEnd - t;
    h.path = printable(b, t, t + Math.min(n, maxPath));
    h.pathTruncated = n > maxPath || (e < 0 && tEnd === lineEnd);
  } else {
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (lineEnd < 12 && e >= 0) return fail('http-bad-status-line');
    if (lineEnd >= 8) {
      if (!isVersion(b, 0, 8, false)) return fail('http-bad-version');
      h.version = b.toString('latin1', 0, 8);
    }
    if (lineEnd >= 12) {
      if (b[8] !== 0x20) return fail('http-bad-status-line');
      let st = 0;
      for (let i = 9; i < 12; i++) {
        if (b[i] < 0x30 || b[i] > 0x39) return fail('http-bad-status');
        st = st * 10 + (b[i] - 0x30);
      }
      h.status = st;
    }
  }
  if (e < 0) { h.truncated = true; return ok(h); }
  // Header lines until the empty line.
  let off = after(b, e);
  for (;;) {
    const le = eol(b, off, lim);
    if (le < 0) { h.truncated = true; return ok(h); }
    if (le === off) { h.headLen = after(b, le); return ok(h); }
    const colon = b.indexOf(0x3a, off);
    if (colon > off && colon < le) {
      const name = b.toString('latin1', off, colon).trim().toLowerCase();
      if (name === 'host' || name === 'content-length' || name === 'transfer-encoding') {
        const value = b.toString('latin1', colon + 1, le).trim();
        if (name === 'host') h.host ??= value;
        else if (name === 'content-length') { if (/^\d{1,15}$/.test(value)) h.contentLength = Number(value); }
        else if (/chunked/i.test(value)) h.chunked = true;
      }
    }
    off = after(b, le);
  }
}

/** "HTTP/d.d" exactly at b[s, e) (prefix allowed: the bytes may stop inside it). */
function isVersion(b: Buffer, s: number, e: number, prefixOk: boolean): boolean {
  const want = 'HTTP/1.';
  const n = e - s;
  if (n !== 8 && !(prefixOk && n < 8)) return false;
  for (let i = 0; i < Math.min(n, 7); i++) if (b[s + i] !== want.charCodeAt(i)) return false;
  return n < 8 || (b[s + 7] >= 0x30 && b[s + 7] <= 0x39);
}
