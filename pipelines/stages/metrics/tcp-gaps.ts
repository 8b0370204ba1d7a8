/**
 * Sequence gaps of one direction (DirState.holes): ranges below the highest sequence seen that
 * the mirror has not seen yet. tcpSegment (tcp.ts) opens a gap when a segment starts above the
 * highest sequence, and judges each gap by its first fill; this module keeps what that
 * judgement needs and what the receiver's ACKs say about the gaps:
 * - a fill removes its bytes from the gaps (takeHoles), and the parts of a gap left around it
 *   take its verdict (setVerdict): a reordered burst fills its gap segment by segment, for
 *   longer than any threshold, and its later segments must be judged as its first was;
 * - every receiver ACK signalling a gap not judged yet (a duplicate ACK, or SACK blocks above
 *   it) is counted on that gap (gapSignals): DUPTHRESH of them before its first fill mean the
 *   sender learnt of a loss;
 * - a D-SACK (a SACK block below the cumulative ACK, or inside the next block: RFC 2883) reports
 *   data the receiver got twice: a spurious retransmission (gapSignals);
 * - a gap the receiver acknowledges without the mirror ever seeing its data was lost by the
 *   capture (ackedGaps).
 * Gaps are capped (cfg.maxHoles, the lowest dropped): tcpSegment applies the cap when a gap
 * opens and after a fill that split one in two.
 */
import type { Long } from '../../../schemas/types';
import { C } from './window';
import { count, unwrap, type DirState, type TcpContext } from './tcp-state';

/** numbers per gap in DirState.holes */
export const HOLE = 5;
/** receiver signals of a gap (dup ACKs, SACKs above it) before its first fill that mean the sender knows of a loss (its dupthresh) */
export const DUPTHRESH = 3;

/** Gaps below the ACK were received by the peer: the mirror missed them (capture loss). */
export function ackedGaps(cx: TcpContext, o: DirState, odir: number, ack: number): void {
  const h = o.holes;
  let i = 0;
  while (i < h.length && h[i] < ack) {
    if (h[i + 1] > ack) { h[i] = ack; break; } // partly acknowledged: counted once it all is
    count(cx, odir, C.ackedUnseen);
    i += HOLE;
  }
  if (i > 0) h.splice(0, i);
}

/**
 * Removes [start, end) from the gaps; returns how many bytes were gaps, when the first opened,
 * the verdict of the gaps it fills (1 if any was judged lost, 0 if all judged reordered, -1 if
 * one was not judged yet) and the most SACKs any of them saw. What is left of a gap keeps its
 * verdict: the fills that continue it are judged as its first fill was.
 */
export function takeHoles(s: DirState, start: number, end: number): { bytes: number; opened: number; verdict: number; sacks: number } {
  let bytes = 0, opened = Infinity, verdict = 0, sacks = 0, undecided = false;
  const h = s.holes;
  const next: number[] = [];
  for (let i = 0; i < h.length; i += HOLE) {
    const hs = h[i], he = h[i + 1], ht = h[i + 2], hv = h[i + 3], hn = h[i + 4];
    const lo = Math.max(hs, start), hi = Math.min(he, end);
    if (lo >= hi) { next.push(hs, he, ht, hv, hn); continue; }
    bytes += hi - lo;
    if (ht < opened) opened = ht;
    if (hv < 0) undecided = true; else if (hv > verdict) verdict = hv;
    if (hn > sacks) sacks = hn;
    if (hs < lo) next.push(hs, lo, ht, hv, hn);
    if (hi < he) next.push(hi, he, ht, hv, hn);
  }
  s.holes = next;
  return { bytes, opened, verdict: verdict === 1 ? 1 : undecided ? -1 : 0, sacks };
}

/** The gaps that were split off by a fill of [start, end) (the parts just around it) get `verdict` when not judged yet. */
export function setVerdict(s: DirState, start: number, end: number, verdict: number): void {
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
export function gapSignals(cx: TcpContext, s: DirState, o: DirState, odir: number, ack: number, blocks: Long[], dup: boolean): void {
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
