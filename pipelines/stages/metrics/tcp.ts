/**
 * TCP analysis of one connection at one observation point, packet by packet in capture order:
 * tcpSegment, each segment's handshake, sequence space, ACK and TCP timestamps. Its state and
 * the primitives it shares are in tcp-state.ts, the outstanding segments (data -> ACK RTT) in
 * tcp-outstanding.ts, the bookkeeping of sequence gaps in tcp-gaps.ts.
 *
 * Sequence numbers are unwrapped into a per-direction relative space (first sequence number
 * seen = 0), so comparisons are plain numbers and 32-bit wraparound is handled once.
 * - RTT, data -> ACK (as tcptrace does it, tcp-outstanding.ts): every segment with sequence
 *   space is remembered; an ACK samples the segment it acknowledges exactly, under Karn's rule.
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
 *   opened: without feedback a sender resends only on a timer. The receiver's ACKs also report
 *   spurious retransmissions (D-SACK) and gaps lost by the capture (tcp-gaps.ts).
 * - TCP timestamps: first time each TSval appears on a segment with sequence space -> first
 *   TSecr echoing it from the other side.
 * Everything is kept in capped lists: outstanding segments, TSvals and gaps (cfg.maxOutstanding, maxPending, maxHoles).
 */
import type { MetricsPacket } from './packet';
import { C, RTT_TS_AB } from './window';
import { count, sample, unwrap, type DirState, type TcpContext } from './tcp-state';
import { addOutstanding, ackIn, markRetransmitted } from './tcp-outstanding';
import { ackedGaps, gapSignals, setVerdict, takeHoles, DUPTHRESH, HOLE } from './tcp-gaps';

/** 2^31, half the 32-bit TSval space; local (tcp-state.ts's unwrap has its own) so the per-segment TSval check reads no imported binding */
const HALF = 2147483648;
const FIN = 1, SYN = 2, RST = 4, ACK = 16;

export interface HandshakeState {
  synT: number; synDir: number; synCount: number;
  synAckT: number; synAckCount: number;
  done: boolean;
  /** SYN -> handshake ACK at the mirror (ns), -1 unknown; used as the reorder threshold */
  rtt: number;
}

export function newHandshake(): HandshakeState {
  return { synT: -1, synDir: -1, synCount: 0, synAckT: -1, synAckCount: 0, done: false, rtt: -1 };
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

  // a SYN or SYN-ACK with a new ISN on a direction that carried data: the 5-tuple was reused
  const reused = s.init && (flags & SYN) !== 0 && seqRaw !== s.base && s.hi > 1;
  if (reused && !(flags & ACK)) { hs.synT = -1; hs.synDir = -1; hs.synCount = 0; hs.synAckT = -1; hs.synAckCount = 0; hs.done = false; hs.rtt = -1; }

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
        if (cx.acc) { cx.acc.clientIsA = hs.synDir === 0; if (hs.synCount === 1 && t >= hs.synT) cx.acc.hsServer = t - hs.synT; } // not when timestamps went backwards
      }
    }
  }
  if (!s.init || reused) {
    // first packet of this direction, or a SYN / SYN-ACK with a new ISN (the 5-tuple was reused)
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
      // a fill inside a gap splits it in two: keep the cap (the lowest, oldest gaps go first, as when one opens)
      const over = s.holes.length - cx.cfg.maxHoles * HOLE;
      if (over > 0) s.holes.splice(0, over);
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
        if (hs.synAckCount === 1 && t >= hs.synAckT) cx.acc.hsClient = t - hs.synAckT;
        if (hs.synAckCount === 1 && hs.synCount === 1 && t >= hs.synT) cx.acc.hsTotal = t - hs.synT;
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
