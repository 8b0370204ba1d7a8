/**
 * State and primitives shared by the TCP analysis (tcp.ts, tcp-outstanding.ts, tcp-gaps.ts) and
 * the ICMP echo (icmp.ts): the per-direction state, the per-packet context, the sequence number
 * unwrap, counters and RTT samples. Apart from tcp.ts so that the modules tcp.ts calls need
 * nothing from it (no import cycle).
 */
import type { MetricsConfig } from './config';
import { rttSample, tcpCounters, type WindowAcc } from './window';

const M32 = 4294967296;
const HALF = 2147483648;

export interface DirState {
  init: boolean;
  /** raw sequence number that maps to relative 0 */
  base: number;
  /** highest relative sequence end seen (next expected byte) */
  hi: number;
  /**
   * gaps below hi not seen yet: flat [start, end, tOpened, verdict, sacks] (HOLE numbers each),
   * sorted; verdict -1 until the gap's first fill, then 1 lost before the mirror / 0 reordered;
   * sacks: receiver ACKs signalling the gap since it opened (duplicate ACKs, SACKs of data above it)
   */
  holes: number[];
  /** unacknowledged segments: flat [start, end, tSent, retransmitted] quads, sorted by start */
  out: number[];
  ackInit: boolean;
  /** last ACK sent by this side, relative in the other side's space, and its raw window */
  lastAck: number;
  lastWin: number;
  /** latest (re)transmission time of the segments already acknowledged (-1: none) */
  ackedMaxT: number;
  /** TSvals this side sent on segments with sequence space: flat [tsval, tFirst] pairs */
  tsv: number[];
  /** last D-SACK block this side sent (relative, other side's space): [start, end], -1 none */
  dsack: number[];
}

export function newDirState(): DirState {
  return { init: false, base: 0, hi: 0, holes: [], out: [], ackInit: false, lastAck: 0, lastWin: -1, ackedMaxT: -1, tsv: [], dsack: [-1, -1] };
}

/** The unwrapped value of 32-bit `raw` (relative to base) closest to `ref`. */
export function unwrap(raw: number, base: number, ref: number): number {
  // x >>> 0 is x mod 2^32 for any integer x (negative ones too), without a floating-point modulo
  const r32 = (raw - base) >>> 0;
  const ref32 = ref >>> 0;
  let d = r32 - ref32;
  if (d >= HALF) d -= M32; else if (d < -HALF) d += M32;
  return ref + d;
}

export interface TcpContext {
  cfg: MetricsConfig;
  /** window accumulator of this packet, null when its window is already closed (late) */
  acc: WindowAcc | null;
  /** last RTT sample per kind on this flow (for jitter) */
  prev: number[];
}

export function sample(cx: TcpContext, kind: number, ns: number): void {
  if (ns < 0) return; // capture timestamps went backwards: not an RTT
  if (cx.acc) rttSample(cx.acc, kind, ns, cx.prev[kind], cx.cfg.relativeAccuracy);
  cx.prev[kind] = ns;
}

export function count(cx: TcpContext, dir: number, c: number, n = 1): void {
  if (cx.acc) tcpCounters(cx.acc)[dir][c] += n;
}
