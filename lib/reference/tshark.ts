/**
 * tshark as an independent reference for tests and the demo's self-check. Two views:
 * - conversationTable(): `tshark -q -z conv,tcp|udp` as printed (frames exact, bytes in
 *   Wireshark's display form, e.g. "5865 bytes" or "248 kB");
 * - exactConversations(): per address/port pair, exact frame and byte sums computed from
 *   `tshark -T fields` (frame.len per packet), for byte-exact comparisons.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface TsharkConversation {
  a: string; // "ip:port" as tshark prints it (left column)
  b: string;
  framesAB: number; // "->": sent by a
  bytesAB: string;
  framesBA: number; // "<-": sent by b
  bytesBA: string;
  frames: number;
  bytes: string;
}

export function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
}

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Wireshark's format_size() for the SI/bytes case used by the conversation table. */
export function wiresharkSize(bytes: number): string {
  if (bytes < 10_000) return `${bytes} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  for (const u of units) {
    if (v < 10_000) return `${Math.floor(v)} ${u}`;
    v /= 1000;
  }
  return `${Math.floor(v * 1000)} TB`;
}

export function conversationTable(file: string, proto: 'tcp' | 'udp' = 'tcp'): TsharkConversation[] {
  const out = tshark(['-r', file, '-q', '-z', `conv,${proto}`]);
  const rows: TsharkConversation[] = [];
  const re = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+ (?:bytes|kB|MB|GB))\s+(\d+)\s+(\d+ (?:bytes|kB|MB|GB))\s+(\d+)\s+(\d+ (?:bytes|kB|MB|GB))/;
  for (const line of out.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    rows.push({ a: m[1], b: m[2], framesBA: Number(m[3]), bytesBA: m[4], framesAB: Number(m[5]), bytesAB: m[6], frames: Number(m[7]), bytes: m[8] });
  }
  return rows;
}

export interface ExactConversation { a: string; b: string; framesAB: number; bytesAB: number; framesBA: number; bytesBA: number }

/** Exact per-direction sums by (address, port) pair, oriented like flow keys (a = lower endpoint). */
export function exactConversations(file: string, proto: 'tcp' | 'udp' = 'tcp'): Map<string, ExactConversation> {
  const out = tshark(['-r', file, '-Y', `${proto} && !icmp && !icmpv6`, '-T', 'fields', '-E', 'separator=\t',
    '-e', 'ip.src', '-e', 'ipv6.src', '-e', `${proto}.srcport`, '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', `${proto}.dstport`, '-e', 'frame.len']);
  const convs = new Map<string, ExactConversation>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const [s4, s6, sp, d4, d6, dp, len] = line.split('\t');
    // Tunnelled frames list outer and inner addresses; the last one is the innermost.
    const src = (s4 || s6).split(',').pop()!, dst = (d4 || d6).split(',').pop()!;
    const sport = Number(sp.split(',').pop()), dport = Number(dp.split(',').pop());
    const srcIsA = src < dst || (src === dst && sport <= dport);
    const a = srcIsA ? `${src}|${sport}` : `${dst}|${dport}`;
    const b = srcIsA ? `${dst}|${dport}` : `${src}|${sport}`;
    const key = `${a}|${b}`;
    let c = convs.get(key);
    if (!c) { c = { a, b, framesAB: 0, bytesAB: 0, framesBA: 0, bytesBA: 0 }; convs.set(key, c); }
    if (srcIsA) { c.framesAB++; c.bytesAB += Number(len); } else { c.framesBA++; c.bytesBA += Number(len); }
  }
  return convs;
}
