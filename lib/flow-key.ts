/**
 * The direction-independent flow key. Both directions of a connection produce the same key,
 * so with the key as the Kafka message key they land in one partition (RTT and loss need
 * both directions in one place). Endpoint "A" is the lower (address, port) pair.
 * Tunnelled traffic is keyed by its inner 5-tuple plus the tunnel id: two tenants may reuse
 * the same private addresses in different VNIs.
 */
export interface FlowEndpoints {
  ip_proto: number;
  addr_a: string;
  port_a: number;
  addr_b: string;
  port_b: number;
  /** true when the packet's source is endpoint A */
  srcIsA: boolean;
}

export function orderEndpoints(proto: number, src: string, sport: number, dst: string, dport: number): FlowEndpoints {
  const srcIsA = src < dst || (src === dst && sport <= dport);
  return srcIsA
    ? { ip_proto: proto, addr_a: src, port_a: sport, addr_b: dst, port_b: dport, srcIsA }
    : { ip_proto: proto, addr_a: dst, port_a: dport, addr_b: src, port_b: sport, srcIsA };
}

export function flowKeyOf(e: FlowEndpoints, tunnelId?: bigint | number | null): string {
  const base = `${e.ip_proto}|${e.addr_a}|${e.port_a}|${e.addr_b}|${e.port_b}`;
  return tunnelId === null || tunnelId === undefined ? base : `${base}|t${tunnelId}`;
}

/** Key for a decoded packet; non-IP frames are keyed by MAC pair so they still spread evenly. */
export function packetFlowKey(p: {
  ip_proto: number | null; src_ip: string | null; dst_ip: string | null;
  src_port: number | null; dst_port: number | null; src_mac: string | null; dst_mac: string | null;
  tunnel_id: bigint | number | null;
}): string {
  if (p.src_ip === null || p.dst_ip === null) {
    const a = p.src_mac ?? '', b = p.dst_mac ?? '';
    return a <= b ? `l2|${a}|${b}` : `l2|${b}|${a}`;
  }
  const e = orderEndpoints(p.ip_proto ?? 0, p.src_ip, p.src_port ?? 0, p.dst_ip, p.dst_port ?? 0);
  return flowKeyOf(e, p.tunnel_id);
}

/** A packet's flow identity: ordered endpoints, flow key, and the key within its observation point. */
export interface PacketFlow {
  e: FlowEndpoints;
  key: string;
  /** `${observation_point}|${key}`: state is per flow AND observation point */
  pointKey: string;
  /** the last window key built for this packet (see windowKey) */
  w: bigint;
  wk: string;
}

// One-entry memo: the processors of a fused stage (aggregate+metrics) see the same record
// object one after the other, so the second gets the strings the first built — and because it
// is the same string object, its hash is already computed when it reaches a Map.
let memoRec: object | null = null;
let memo: PacketFlow | null = null;

/** The flow identity of an IP packet (src_ip and dst_ip not null). */
export function packetFlow(p: {
  ip_proto: number | null; src_ip: string | null; dst_ip: string | null; src_port: number | null; dst_port: number | null;
  tunnel_id: bigint | number | null; observation_point: string;
}): PacketFlow {
  if (p === memoRec && memo) return memo;
  const e = orderEndpoints(p.ip_proto ?? 0, p.src_ip!, p.src_port ?? 0, p.dst_ip!, p.dst_port ?? 0);
  const key = flowKeyOf(e, p.tunnel_id);
  memo = { e, key, pointKey: `${p.observation_point}|${key}`, w: -1n, wk: '' };
  memoRec = p;
  return memo;
}

let lastW = -1n;
let lastWStr = '';

/** `${windowStart}|${observation_point}|${flowKey}` (BigInt-to-string once per window start, not per packet). */
export function windowKey(f: PacketFlow, w: bigint): string {
  if (f.w === w) return f.wk;
  if (w !== lastW) { lastW = w; lastWStr = String(w); }
  f.w = w;
  f.wk = `${lastWStr}|${f.pointKey}`;
  return f.wk;
}
