/**
 * The packet fingerprint that survives forwarding: what identifies one packet at every point of
 * its path. Within a flow key (addresses, protocol, ports, tunnel id) it is the direction plus:
 *   IP id, fragment offset, more-fragments, L4 payload length  (the sender's, kept by routers)
 *   TCP: seq, ack, flags, TSval, TSecr  (end-to-end; distinguish retransmissions and dup ACKs)
 *   ICMP: type, code, id, seq
 * Excluded, because a hop changes them: TTL/hop limit (decremented by every router), MACs
 * (rewritten per L3 hop), checksums (recomputed after the TTL change; not decoded anyway),
 * TOS/traffic class (DSCP remarking, ECN CE marking by queues), VLAN/MPLS (pushed and popped per
 * segment), wire/capture length (tags, snap length), TCP MSS (clamped by routers), TCP window
 * (rewritten by some firewalls), and time. Not handled: NAT and TCP sequence randomisation
 * between the points (the flow key or seq then differ), tunnels seen inside at one point and
 * outside at the other (different flow keys, different partitions).
 */
import type { PacketSummary } from '../../../schemas/types';

const n = (v: bigint | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** `dir` is 'ab' or 'ba' (lib/flow-key.ts: A = lower endpoint). */
export function fingerprint(p: PacketSummary, dir: 'ab' | 'ba'): string {
  let f = `${dir}|${n(p.ip_id)}|${p.frag_offset}|${p.more_fragments ? 1 : 0}|${p.l4_payload_len}`;
  if (p.tcp_seq !== null || p.tcp_flags !== null) {
    f += `|t${n(p.tcp_seq)}|${n(p.tcp_ack)}|${n(p.tcp_flags)}|${n(p.tcp_ts_val)}|${n(p.tcp_ts_ecr)}`;
  } else if (p.icmp_type !== null) {
    f += `|i${p.icmp_type}|${n(p.icmp_code)}|${n(p.icmp_id)}|${n(p.icmp_seq)}`;
  }
  return f;
}

/** IPv4 CIDR or exact address match (senderPoints). */
export function addressMatches(pattern: string, ip: string): boolean {
  const slash = pattern.indexOf('/');
  if (slash < 0) return pattern === ip;
  const v4 = (s: string): number | null => {
    const parts = s.split('.');
    if (parts.length !== 4) return null;
    let x = 0;
    for (const q of parts) { const o = Number(q); if (!Number.isInteger(o) || o < 0 || o > 255) return null; x = x * 256 + o; }
    return x;
  };
  const net = v4(pattern.slice(0, slash)), addr = v4(ip), bits = Number(pattern.slice(slash + 1));
  if (net === null || addr === null || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(net / size) === Math.floor(addr / size);
}
