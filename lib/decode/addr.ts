/**
 * Address formatting for the hot path. Strings are built from precomputed per-byte tables by
 * concatenation (V8 makes cons-strings, no intermediate arrays), which is several times faster
 * than Array.join or toString(16) per byte.
 */

// Pair tables: one lookup per 16 bits ("aa:bb", "10.0") halves the number of string
// concatenations per address; 2 x 65536 short strings is a few MB, built once at load.
const HEX2: string[] = [];
const DEC: string[] = [];
for (let i = 0; i < 256; i++) {
  HEX2.push(i.toString(16).padStart(2, '0'));
  DEC.push(String(i));
}
const HEXPAIR: string[] = new Array(65536);
const DECPAIR: string[] = new Array(65536);
for (let i = 0; i < 65536; i++) {
  HEXPAIR[i] = HEX2[i >> 8] + ':' + HEX2[i & 255];
  DECPAIR[i] = DEC[i >> 8] + '.' + DEC[i & 255];
}

/** Lowercase colon MAC (aa:bb:cc:dd:ee:ff) from 6 bytes at o; caller checks bounds. */
export function mac(d: Buffer, o: number): string {
  return HEXPAIR[(d[o] << 8) | d[o + 1]] + ':' + HEXPAIR[(d[o + 2] << 8) | d[o + 3]] + ':' + HEXPAIR[(d[o + 4] << 8) | d[o + 5]];
}

/** Dotted-quad IPv4 from 4 bytes at o. */
export function ipv4(d: Buffer, o: number): string {
  return DECPAIR[(d[o] << 8) | d[o + 1]] + '.' + DECPAIR[(d[o + 2] << 8) | d[o + 3]];
}

const words = new Uint16Array(8);

/**
 * IPv6 text form as tshark prints it (RFC 5952: lowercase, no leading zeros, the longest run of
 * two or more zero groups -- the first on a tie -- becomes "::"). Like inet_ntop, IPv4-mapped
 * (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses end in dotted quad.
 */
export function ipv6(d: Buffer, o: number): string {
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    const w = (d[o + 2 * i] << 8) | d[o + 2 * i + 1];
    words[i] = w;
    if (w === 0) {
      if (curBase < 0) { curBase = i; curLen = 1; } else curLen++;
      if (curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  // Embedded IPv4 forms, same rule as the ISC/glibc inet_ntop that Wireshark follows.
  if (bestBase === 0 && (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff))) {
    return (bestLen === 5 ? '::ffff:' : '::') + ipv4(d, o + 12);
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += words[i].toString(16);
    if (i < 7) out += ':';
  }
  return out;
}
