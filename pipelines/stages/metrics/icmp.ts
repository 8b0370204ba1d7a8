/**
 * ICMP / ICMPv6 echo RTT at the mirror: request -> reply with the same identifier and sequence
 * number, in the opposite direction. A request seen twice before its reply is ambiguous (which
 * one was answered?) and gives no sample. Pending requests are a capped list per flow.
 */
import type { MetricsPacket } from './packet';
import { RTT_ICMP } from './window';
import { sample, type TcpContext } from './tcp-state';

const REQUEST: Record<number, number> = { 1: 8, 58: 128 };
const REPLY: Record<number, number> = { 1: 0, 58: 129 };

/** pending: flat [id << 16 | seq, tRequest, direction, seenTwice] quads */
export function icmpPacket(cx: TcpContext, pending: number[], dir: 0 | 1, p: MetricsPacket, t: number): void {
  const proto = p.ip_proto ?? 0;
  if (p.icmp_type === null || p.icmp_id === null || p.icmp_seq === null || !(proto in REQUEST)) return;
  const key = p.icmp_id * 65536 + p.icmp_seq;
  if (p.icmp_type === REQUEST[proto]) {
    for (let i = 0; i < pending.length; i += 4) {
      if (pending[i] === key && pending[i + 2] === dir) { pending[i + 3] = 1; return; }
    }
    pending.push(key, t, dir, 0);
    if (pending.length > cx.cfg.maxPending * 4) pending.splice(0, 4);
  } else if (p.icmp_type === REPLY[proto]) {
    for (let i = 0; i < pending.length; i += 4) {
      if (pending[i] === key && pending[i + 2] !== dir) {
        if (pending[i + 3] === 0) sample(cx, RTT_ICMP, t - pending[i + 1]);
        pending.splice(i, 4);
        return;
      }
    }
  }
}
