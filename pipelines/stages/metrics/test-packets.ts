/**
 * Packet summaries for the metrics stage's tests: TCP segments and ICMP echoes between A
 * (10.0.0.1, the lower endpoint, port 40000) and B (10.0.0.2, port 80), seen at 'mirror'.
 */
import { emptyPacketSummary, type PacketSummary } from '../../../schemas/types';

export const A = '10.0.0.1', B = '10.0.0.2'; // A is the lower endpoint
export const FIN = 1, SYN = 2, ACK = 16, PSH = 8;

/** seconds -> ns, to the microsecond (as capture timestamps are) */
export const ns = (sec: number): bigint => BigInt(Math.round(sec * 1e6)) * 1000n;

export function tcp(tsSec: number, fromA: boolean, flags: number, seq: number, ack: number, len = 0, extra: Partial<PacketSummary> = {}): PacketSummary {
  return { ...emptyPacketSummary(), ts_ns: ns(tsSec), observation_point: 'mirror', ip_version: 4, ip_proto: 6,
    src_ip: fromA ? A : B, dst_ip: fromA ? B : A, src_port: fromA ? 40000 : 80, dst_port: fromA ? 80 : 40000,
    wire_len: 54 + len, cap_len: 54 + len, l4_payload_len: len, tcp_flags: flags, tcp_seq: BigInt(seq >>> 0), tcp_ack: BigInt(ack >>> 0),
    tcp_window: 65535, ...extra };
}

export function echo(tsSec: number, fromA: boolean, request: boolean, seq: number, v6 = false): PacketSummary {
  return { ...emptyPacketSummary(), ts_ns: ns(tsSec), observation_point: 'mirror', ip_version: v6 ? 6 : 4, ip_proto: v6 ? 58 : 1,
    src_ip: fromA ? A : B, dst_ip: fromA ? B : A, wire_len: 98, cap_len: 98,
    icmp_type: v6 ? (request ? 128 : 129) : (request ? 8 : 0), icmp_code: 0, icmp_id: 77, icmp_seq: seq };
}

/** client A:40000 -> server B:80, ISNs 1000 / 5000, handshake at t0 (10 ms server, 2 ms client) */
export function handshake(t0: number, isnA = 1000, isnB = 5000): PacketSummary[] {
  return [tcp(t0, true, SYN, isnA, 0), tcp(t0 + 0.010, false, SYN | ACK, isnB, isnA + 1), tcp(t0 + 0.012, true, ACK, isnA + 1, isnB + 1)];
}
