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

/** Shared by both directions of a flow at one observation point: the last window key built for it. */
interface FlowNames {
  /** the last window key built for this flow (see windowKey) */
  w: bigint;
  wk: string;
}

/** A packet's flow identity: ordered endpoints, flow key, and the key within its observation point. */
export interface PacketFlow {
  e: FlowEndpoints;
  key: string;
  /** `${observation_point}|${key}`: state is per flow AND observation point */
  pointKey: string;
  names: FlowNames;
}

type FlowPacket = {
  ip_proto: number | null; src_ip: string | null; dst_ip: string | null; src_port: number | null; dst_port: number | null;
  tunnel_id: bigint | number | null; observation_point: string;
};

// One-entry memo: the processors of a fused stage (aggregate+metrics) see the same record
// object one after the other, so the second gets the flow the first looked up.
let memoRec: object | null = null;
let memo: PacketFlow | null = null;

/**
 * Flows seen lately, direct-mapped by a hash of the directed 5-tuple, tunnel and observation
 * point. Why: the stores are Maps keyed by these strings, and a string built afresh for every
 * packet must be flattened and hashed at each lookup (measured: most of the time the metrics
 * stage spent in its stores); the cached strings carry their hash. A slot holds one flow
 * direction; a collision replaces it, so the cache stays bounded and only its hit rate
 * depends on the traffic — never a result (every hit is compared field by field). 4096 slots
 * (~400 B each) cover the flows a partition sees within a batch or two; bench:state counts them.
 */
interface Slot { src: string; dst: string; sport: number; dport: number; proto: number; tun: bigint | number | null; op: string; flow: PacketFlow }
const SLOT_BITS = 12;
const slots: (Slot | undefined)[] = new Array(1 << SLOT_BITS);

/** Cheap, not cryptographic: the last characters of the addresses (where they differ) and the numbers. */
function slotOf(src: string, dst: string, sport: number, dport: number, proto: number, tun: bigint | number | null, op: string): number {
  let h = Math.imul(sport ^ (dport << 16), 0x9e3779b1) ^ proto ^ (op.length << 8);
  if (tun !== null) h ^= Math.imul(Number(tun) | 0, 0x85ebca6b);
  for (let i = src.length - 1, n = 0; i >= 0 && n < 6; i--, n++) h = Math.imul(h ^ src.charCodeAt(i), 0x01000193);
  for (let i = dst.length - 1, n = 0; i >= 0 && n < 6; i--, n++) h = Math.imul(h ^ dst.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h & ((1 << SLOT_BITS) - 1);
}

function find(i: number, src: string, dst: string, sport: number, dport: number, proto: number, tun: bigint | number | null, op: string): Slot | undefined {
  const s = slots[i];
  return s !== undefined && s.sport === sport && s.dport === dport && s.proto === proto && s.src === src && s.dst === dst && s.tun === tun && s.op === op ? s : undefined;
}

/**
 * A flat copy of a string built by concatenation. A template literal is a tree of cons cells
 * over its parts; a Map keeps the tree's root even after hashing flattened it, and the stores
 * keep these keys for as long as the flow lives (measured by npm run bench:state: ~50 B more
 * per idle connection). Done once per flow, or per flow and window, not per packet.
 */
function flat(s: string): string {
  const copy = Buffer.from(s).toString();
  return copy === s ? copy : s; // a lone surrogate does not survive UTF-8: keep the original then
}

/** The flow identity of an IP packet (src_ip and dst_ip not null). */
export function packetFlow(p: FlowPacket): PacketFlow {
  if (p === memoRec && memo) return memo;
  const src = p.src_ip!, dst = p.dst_ip!, sport = p.src_port ?? 0, dport = p.dst_port ?? 0, proto = p.ip_proto ?? 0;
  const tun = p.tunnel_id, op = p.observation_point;
  const i = slotOf(src, dst, sport, dport, proto, tun, op);
  let hit = find(i, src, dst, sport, dport, proto, tun, op);
  if (!hit) {
    const e = orderEndpoints(proto, src, sport, dst, dport);
    // the other direction, if cached, lends its strings: one string object per flow key
    const back = find(slotOf(dst, src, dport, sport, proto, tun, op), dst, src, dport, sport, proto, tun, op)?.flow;
    const key = back ? back.key : flat(flowKeyOf(e, tun));
    const flow: PacketFlow = back ? { e, key, pointKey: back.pointKey, names: back.names } : { e, key, pointKey: flat(`${op}|${key}`), names: { w: -1n, wk: '' } };
    hit = { src, dst, sport, dport, proto, tun, op, flow };
    slots[i] = hit;
  }
  memoRec = p;
  memo = hit.flow;
  return memo;
}

let lastW = -1n;
let lastWStr = '';

/** `${windowStart}|${observation_point}|${flowKey}` (built once per flow and window start, not per packet). */
export function windowKey(f: PacketFlow, w: bigint): string {
  const n = f.names;
  if (n.w === w) return n.wk;
  if (w !== lastW) { lastW = w; lastWStr = String(w); }
  n.w = w;
  n.wk = flat(`${lastWStr}|${f.pointKey}`);
  return n.wk;
}
