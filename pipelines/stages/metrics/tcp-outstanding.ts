/**
 * Outstanding segments of one direction (DirState.out) and the data -> ACK RTT, as tcptrace
 * does it: every segment with sequence space (payload, SYN, FIN; zero-window probes aside) is
 * remembered with its mirror time; an ACK marks every remembered segment that starts below it
 * as acknowledged, and gives a sample only for the segment it acknowledges exactly (ack ==
 * segment end) and only when that segment was never retransmitted (Karn's rule). At most
 * cfg.maxOutstanding segments are remembered: beyond, the oldest is dropped (counted untracked).
 */
import { C, RTT_DATA_AB } from './window';
import { count, sample, type DirState, type TcpContext } from './tcp-state';

export function addOutstanding(cx: TcpContext, s: DirState, dir: number, start: number, end: number, t: number, retx: number): void {
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
export function ackIn(cx: TcpContext, o: DirState, odir: number, ack: number, t: number): void {
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

/** Flags the remembered segments overlapping [start, end) as retransmitted (sent again at t). */
export function markRetransmitted(s: DirState, start: number, end: number, t: number): boolean {
  let any = false;
  for (let i = 0; i < s.out.length; i += 4) {
    if (s.out[i] < end && s.out[i + 1] > start) { s.out[i + 3] = 1; s.out[i + 2] = t; any = true; }
  }
  return any;
}
