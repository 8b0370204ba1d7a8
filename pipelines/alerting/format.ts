/** Small formatting helpers for alert summaries and evidence (text, human units). */
export function fmtRate(bytesPerSec: number): string {
  const u = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSec, i = 0;
  while (Math.abs(v) >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${u[i]}`;
}

export const fmtNum = (x: number, digits = 3): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(digits))));

export const fmtMs = (ns: number): string => `${fmtNum(ns / 1e6)} ms`;

export const fmtPct = (r: number): string => `${fmtNum(r * 100)} %`;

/** A sample of a set, sorted, as evidence text: '22,80,443,…(+97)'. */
export function sample<T>(xs: Iterable<T>, n = 10): string {
  const all = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return all.slice(0, n).join(',') + (all.length > n ? `,…(+${all.length - n})` : '');
}

export const isoOf = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
