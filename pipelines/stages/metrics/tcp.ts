/**
 * TCP analysis of one connection at one observation point, packet by packet in capture order.
 *
 * Sequence numbers are unwrapped into a per-direction relative space (first sequence number
 * seen = 0), so comparisons are plain numbers and 32-bit wraparound is handled once.
 * - RTT, data -> ACK (as tcptrace does it): every segment with sequence space (payload, SYN,
 *   FIN) is remembered with its mirror time; an ACK marks every remembered segment that starts
 *   below it as acknowledged, and gives a sample only for the segment it acknowledges exactly
 *   (ack == segment end) and only when that segment was never retransmitted (Karn's rule).
 * - Loss: a segment carrying sequence space already seen here is a retransmission (lost after
 *   the mirror, or spurious); a segment filling a gap below the highest sequence seen either
 *   arrived late (reordering) or is the retransmission of a segment the mirror never saw (lost
 *   before the mirror). Each gap is judged once, by its FIRST fill, and the fills that continue
 *   it inherit the verdict (a reordered burst fills its gap segment by segment, for longer than
 *   any threshold). The first fill is a retransmission only on evidence that the sender learnt
 *   of a loss: the receiver signalled the gap dupthresh (3) times before it (duplicate ACKs, or
 *   ACKs SACKing data above the gap: one alone is what any reordering produces, and a sender
 *   that resends on it resends spuriously, its original still on the way), or it came later
 *   than the reorder threshold (the handshake RTT, at least reorderThresholdMs) after the gap
 *   opened: without feedback a sender resends only on a timer. A D-SACK (a SACK block below the cumulative ACK, or inside the next block) reports
 *   data the receiver got twice: a spurious retransmission. A gap the receiver acknowledges
 *   without the mirror ever seeing its data was lost by the capture.
 * - TCP timestamps: first time each TSval appears on a segment with sequence space -> first
 *   TSecr echoing it from the other side.
 * Everything is bounded: outstanding segments, gaps and TSvals are capped lists.
 */
import type { Long } from '../../../schemas/types';
import type { MetricsPacket } from './packet';
import type { MetricsConfig } from './config';
import { C, RTT_DATA_AB, RTT_TS_AB, rttSample, tcpCounters, type WindowAcc } from './window';

const M32 = 4294967296;
const HALF = 2147483648;
const FIN = 1, SYN = 2, RST = 4, ACK = 16;

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

/** numbers per gap in DirState.holes */
const HOLE = 5;
/** receiver signals of a gap (dup ACKs, SACKs above it) before its first fill that mean the sender knows of a loss (its dupthresh) */
const DUPTHRESH = 3;

export interface HandshakeState {
  synT: number; synDir: number; synCount: number;
  synAckT: number; synAckCount: number;
  done: boolean;
  /** SYN -> handshake ACK at the mirror (ns), -1 unknown; used as the reorder threshold */
  rtt: number;
}

export function newDirState(): DirState {
  return { init: false, base: 0, hi: 0, holes: [], out: [], ackInit: false, lastAck: 0, lastWin: -1, ackedMaxT: -1, tsv: [], dsack: [-1, -1] };
}

export function newHandshake(): HandshakeState {
  return { synT: -1, synDir: -1, synCount: 0, synAckT: -1, synAckCount: 0, done: false, rtt: -1 };
}

/** The unwrapped value of 32-bit `raw` (relative to base) closest to `ref`. */
function unwrap(raw: number, base: number, ref: number): number {
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

function count(cx: TcpContext, dir: number, c: number, n = 1): void {
  if (cx.acc) tcpCounters(cx.acc)[dir][c] += n;
}

/**
 * One TCP segment sent by direction `dir` (0 = endpoint A) at relative time t (ns since the
 * connection's first packet).
 */
export function tcpSegment(cx: TcpContext, d: [DirState, DirState], hs: HandshakeState, dir: 0 | 1, p: MetricsPacket, t: number): void {
  const s = d[dir], o = d[dir ^ 1];
  const flags = p.tcp_flags ?? 0;
  const seqRaw = Number(p.tcp_seq ?? 0);
  const len = p.l4_payload_len;
  const segLen = len + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);

  // --- handshake ---
  if (flags & SYN) {
    if (!(flags & ACK)) {
      if (hs.synDir < 0 || hs.synDir === dir) {
        if (hs.synT < 0) { hs.synT = t; hs.synDir = dir; }
        hs.synCount++;
      }
    } else if (hs.synDir === (dir ^ 1)) {
      hs.synAckCount++;
      if (hs.synAckT < 0) {
        hs.synAckT = t;
        if (cx.acc) { cx.acc.clientIsA = hs.synDir === 0; if (hs.synCount === 1) cx.acc.hsServer = t - hs.synT; }
      }
    }
  }
  if (!s.init || ((flags & SYN) && !(flags & ACK) && seqRaw !== s.base && s.hi > 1)) {
    // first packet of this direction, or a SYN with a new ISN (the 5-tuple was reused)
    s.init = true; s.base = seqRaw; s.hi = 0; s.holes.length = 0; s.out.length = 0; s.tsv.length = 0; s.ackedMaxT = -1;
  }

  const start = unwrap(seqRaw, s.base, s.hi);
  const end = start + segLen;

  // --- sequence space: in order, gap fill, retransmission, zero-window probe ---
  if (len > 0) { count(cx, dir, C.dataSeg); count(cx, dir, C.dataBytes, len); }
  if (segLen > 0) {
    if (o.ackInit && o.lastWin === 0 && len > 0) {
      count(cx, dir, C.zwProbe);
      if (end > s.hi) s.hi = end;
    } else if (start >= s.hi) {
      if (start > s.hi) pushCapped(s.holes, [s.hi, start, t, -1, 0], HOLE, cx.cfg.maxHoles);
      s.hi = end;
      addOutstanding(cx, s, dir, start, end, t, 0);
    } else {
      const top = Math.min(end, s.hi);
      const filled = takeHoles(s, start, top);
      if (filled.bytes === top - start) {
        // never seen here: reordering, or the retransmission of a segment lost before the mirror
        let lost: boolean;
        if (filled.verdict >= 0) {
          lost = filled.verdict === 1; // continues a gap already judged by its first fill
        } else {
          const floor = cx.cfg.reorderThresholdMs * 1e6;
          const threshold = hs.rtt > floor ? hs.rtt : floor;
          lost = filled.sacks >= DUPTHRESH || t - filled.opened > threshold;
        }
        setVerdict(s, start, top, lost ? 1 : 0);
        count(cx, dir, lost ? C.lostBefore : C.ooo);
        addOutstanding(cx, s, dir, start, top, t, 0);
      } else {
        count(cx, dir, C.rexSeg);
        count(cx, dir, C.rexBytes, Math.max(0, Math.min(len, top - start - filled.bytes)));
        // not remembered any more (acknowledged, or sent as a zero-window probe): remember it as
        // retransmitted, so that its ACK counts as ambiguous rather than passing unnoticed
        if (!markRetransmitted(s, start, top, t)) addOutstanding(cx, s, dir, start, top, t, 1);
      }
      if (end > s.hi) { addOutstanding(cx, s, dir, s.hi, end, t, 0); s.hi = end; }
    }
  }

  // --- the ACK: RTT of the other side's segments, duplicate ACKs, handshake completion ---
  if ((flags & ACK) && o.init) {
    const ack = unwrap(Number(p.tcp_ack ?? 0), o.base, o.hi);
    ackIn(cx, o, dir ^ 1, ack, t);
    if (o.holes.length > 0 && o.holes[0] < ack) ackedGaps(cx, o, dir ^ 1, ack);
    const win = p.tcp_window ?? 0;
    const pure = len === 0 && (flags & (SYN | FIN | RST)) === 0;
    const dup = pure && s.ackInit && win !== 0 && win === s.lastWin && ack === s.lastAck && start === s.hi;
    if (dup) count(cx, dir, C.dupAck);
    if (p.tcp_sack_blocks.length >= 2 || (dup && o.holes.length > 0)) gapSignals(cx, s, o, dir ^ 1, ack, p.tcp_sack_blocks, dup);
    if (!(flags & SYN) && !hs.done && hs.synAckT >= 0 && dir === hs.synDir && ack === 1) {
      hs.done = true;
      hs.rtt = t - hs.synT;
      if (cx.acc) {
        cx.acc.clientIsA = dir === 0;
        if (hs.synAckCount === 1) cx.acc.hsClient = t - hs.synAckT;
        if (hs.synAckCount === 1 && hs.synCount === 1) cx.acc.hsTotal = t - hs.synT;
      }
    }
    s.ackInit = true;
    s.lastAck = ack;
    s.lastWin = win;
  } else if (flags & SYN) {
    s.lastWin = p.tcp_window ?? 0;
  }
  if ((p.tcp_window ?? 1) === 0 && (flags & (SYN | FIN | RST)) === 0) count(cx, dir, C.zeroWin);

  // --- TCP timestamps ---
  if (cx.cfg.tcpTimestamps) {
    if (p.tcp_ts_val !== null && segLen > 0) {
      const v = Number(p.tcp_ts_val);
      const n = s.tsv.length;
      if (n === 0 || ((v - s.tsv[n - 2]) >>> 0) - 1 < HALF - 1) pushCapped(s.tsv, [v, t], 2, cx.cfg.maxPending);
    }
    if (p.tcp_ts_ecr !== null && (flags & ACK) && o.tsv.length > 0) {
      const e = Number(p.tcp_ts_ecr);
      for (let i = 0; i < o.tsv.length; i += 2) {
        if (o.tsv[i] === e) {
          sample(cx, RTT_TS_AB + (dir ^ 1), t - o.tsv[i + 1]);
          o.tsv.splice(0, i + 2);
          break;
        }
      }
    }
  }
}

function pushCapped(list: number[], item: number[], width: number, cap: number): number {
  list.push(...item);
  if (list.length > cap * width) { list.splice(0, width); return 1; }
  return 0;
}

function addOutstanding(cx: TcpContext, s: DirState, dir: number, start: number, end: number, t: number, retx: number): void {
  const out = s.out;
  let i = out.length;
  while (i > 0 && out[i - 4] > start) i -= 4;
  out.splice(i, 0, start, end, t, retx);
  if (out.length > cx.cfg.maxOutstanding * 4) { out.splice(0, 4); count(cx, dir, C.untracked); }
}

/**
 * tcptrace's ack_in: every segment starting below the ACK is acknowledged; only the segment it
 * acknowledges exactly gives a sample, and only if it was never retransmitted (Karn) and no
 * segment before it (acknowledged now or earlier) was (re)sent after it: the ACK may then
 * answer that later transmission (a retransmission or gap fill filling the receiver's hole),
 * not this segment. tcptrace 6.6 applies the same rule ("intervening transmissions").
 */
function ackIn(cx: TcpContext, o: DirState, odir: number, ack: number, t: number): void {
  const out = o.out;
  let n = 0, lastXmit = o.ackedMaxT;
  while (n < out.length && out[n] < ack) {
    if (out[n + 1] === ack) {
      if (out[n + 3] === 0 && lastXmit <= out[n + 2]) sample(cx, RTT_DATA_AB + odir, t - out[n + 2]);
      else count(cx, odir, C.ambiguous);
    }
    if (out[n + 2] > lastXmit) lastXmit = out[n + 2];
    n += 4;
  }
  if (n > 0) { out.splice(0, n); o.ackedMaxT = lastXmit; }
}

/** Gaps below the ACK were received by the peer: the mirror missed them (capture loss). */
function ackedGaps(cx: TcpContext, o: DirState, odir: number, ack: number): void {
  const h = o.holes;
  let i = 0;
  while (i < h.length && h[i] < ack) {
    if (h[i + 1] > ack) { h[i] = ack; break; } // partly acknowledged: counted once it all is
    count(cx, odir, C.ackedUnseen);
    i += HOLE;
  }
  if (i > 0) h.splice(0, i);
}

/** Flags the remembered segments overlapping [start, end) as retransmitted (sent again at t). */
function markRetransmitted(s: DirState, start: number, end: number, t: number): boolean {
  let any = false;
  for (let i = 0; i < s.out.length; i += 4) {
    if (s.out[i] < end && s.out[i + 1] > start) { s.out[i + 3] = 1; s.out[i + 2] = t; any = true; }
  }
  return any;
}

/**
 * Removes [start, end) from the gaps; returns how many bytes were gaps, when the first opened,
 * the verdict of the gaps it fills (1 if any was judged lost, 0 if all judged reordered, -1 if
 * one was not judged yet) and the most SACKs any of them saw. What is left of a gap keeps its
 * verdict: the fills that continue it are judged as its first fill was.
 */
function takeHoles(s: DirState, start: number, end: number): { bytes: number; opened: number; firstHoleStart: number; verdict: number; sacks: number } {
  let bytes = 0, opened = Infinity, firstHoleStart = -1, verdict = 0, sacks = 0, undecided = false;
  const h = s.holes;
  const next: number[] = [];
  for (let i = 0; i < h.length; i += HOLE) {
    const hs = h[i], he = h[i + 1], ht = h[i + 2], hv = h[i + 3], hn = h[i + 4];
    const lo = Math.max(hs, start), hi = Math.min(he, end);
    if (lo >= hi) { next.push(hs, he, ht, hv, hn); continue; }
    bytes += hi - lo;
    if (ht < opened) opened = ht;
    if (firstHoleStart < 0) firstHoleStart = hs;
    if (hv < 0) undecided = true; else if (hv > verdict) verdict = hv;
    if (hn > sacks) sacks = hn;
    if (hs < lo) next.push(hs, lo, ht, hv, hn);
    if (hi < he) next.push(hi, he, ht, hv, hn);
  }
  s.holes = next;
  return { bytes, opened, firstHoleStart, verdict: verdict === 1 ? 1 : undecided ? -1 : 0, sacks };
}

/** The gaps that were split off by a fill of [start, end) (the parts just around it) get `verdict` when not judged yet. */
function setVerdict(s: DirState, start: number, end: number, verdict: number): void {
  const h = s.holes;
  for (let i = 0; i < h.length; i += HOLE) {
    if ((h[i + 1] === start || h[i] === end) && h[i + 3] < 0) h[i + 3] = verdict;
  }
}

/**
 * An ACK sent by `s` about the other side's data `o` (sent by `odir`), with SACK blocks or a
 * duplicate ACK. A D-SACK (the first block below the cumulative ACK, or inside the second block:
 * RFC 2883) is a segment the receiver got twice, i.e. a spurious retransmission (or a
 * duplicate), counted once per block. The ACK is one more signal of every gap not filled yet
 * at or above its ACK that it SACKs data above, or of every such gap if it is a duplicate ACK.
 */
function gapSignals(cx: TcpContext, s: DirState, o: DirState, odir: number, ack: number, blocks: Long[], dup: boolean): void {
  const n = blocks.length & ~1;
  const h = o.holes;
  if (n === 0) {
    for (let i = 0; i < h.length; i += HOLE) if (h[i + 3] < 0 && h[i] >= ack) h[i + 4]++;
    return;
  }
  const le0 = unwrap(Number(blocks[0]), o.base, ack), re0 = unwrap(Number(blocks[1]), o.base, ack);
  let dsack = re0 <= ack;
  if (!dsack && n >= 4) {
    const le1 = unwrap(Number(blocks[2]), o.base, ack), re1 = unwrap(Number(blocks[3]), o.base, ack);
    dsack = le0 >= le1 && re0 <= re1;
  }
  if (!s.dsack) s.dsack = [-1, -1];
  if (dsack) {
    if (s.dsack[0] !== le0 || s.dsack[1] !== re0) { count(cx, odir, C.spurious); s.dsack[0] = le0; s.dsack[1] = re0; }
  }
  if (h.length === 0) return;
  let top = -Infinity;
  for (let i = dsack ? 2 : 0; i < n; i += 2) {
    const re = unwrap(Number(blocks[i + 1]), o.base, ack);
    if (re > top) top = re;
  }
  for (let i = 0; i < h.length; i += HOLE) {
    if (h[i + 3] < 0 && h[i] >= ack && (dup || h[i + 1] < top)) h[i + 4]++;
  }
}
