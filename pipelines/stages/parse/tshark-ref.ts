/**
 * Test helper: the tshark rows the parse stage is compared with (corpus.test.ts), each with its
 * frame number and innermost endpoints (tunnelled frames list outer and inner fields; the last
 * value is the innermost).
 */
import { execFileSync } from 'node:child_process';

export interface TsRow { frame: number; src: string; sport: number; dst: string; dport: number; f: string[] }

const ENDPOINTS = ['frame.number', 'ip.src', 'ipv6.src', 'tcp.srcport', 'udp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'udp.dstport'];

/** `tshark -r file [opts] -Y filter -T fields -e <endpoints> -e fields...` as rows. */
export function tsharkRows(file: string, filter: string, fields: string[], opts: string[] = []): TsRow[] {
  const out = execFileSync('tshark', ['-r', file, ...opts, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
    ...[...ENDPOINTS, ...fields].flatMap((e) => ['-e', e])], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const rows: TsRow[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const c = line.split('\t');
    const last = (s: string) => s.split(',').pop() ?? '';
    const src = last(c[1] || c[2]), dst = last(c[5] || c[6]);
    const sport = Number(last(c[3] || c[4])), dport = Number(last(c[7] || c[8]));
    rows.push({ frame: Number(c[0]), src, sport, dst, dport, f: c.slice(ENDPOINTS.length) });
  }
  return rows;
}

/** Wireshark's "a,b" multi-value fields as a list ('' -> []). */
export const list = (s: string | undefined): string[] => (s ? s.split(',') : []);

/** Capture time of every frame (ns since the epoch), exactly as tshark prints it. */
export function frameTimes(file: string): Map<number, bigint> {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.time_epoch'],
    { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<number, bigint>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [n, t] = line.split('\t');
    m.set(Number(n), secondsToNs(t));
  }
  return m;
}

/** "1470104377.734137000" -> 1470104377734137000n (no floating point). */
export function secondsToNs(s: string): bigint {
  const [i, f = ''] = s.split('.');
  return BigInt(i) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
}
