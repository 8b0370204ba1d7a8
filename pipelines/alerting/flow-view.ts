/**
 * One identified flow window seen from its two ends: who initiated it (src, the client) and who
 * served it (dst), with stable endpoint ids (the VM id, or `ip:<addr>` for an address that is
 * no inventory VM) that survive a migration (a VM keeps its id when its host changes).
 *
 * Orientation, first rule that applies: traffic in one direction only -> the sender is src
 * (unanswered SYNs, one-way UDP/ICMP floods); a port below 1024 against one that is not -> the
 * low port serves; one ephemeral port (>= 32768) against one that is not -> it is the client;
 * otherwise the lower port serves. Equal ports, or no ports (ICMP both ways): endpoint a serves.
 * Ports cannot tell who pinged whom; the rollup stage happens to take the other side (b) there,
 * so a two-way ICMP pair may read b -> a in an alert and a -> b in the rollups.
 */
import type { IdentifiedFlow } from '../../schemas/identified-flow';

export interface Endpoint {
  id: string;
  vm: string | null;
  name: string | null;
  addr: string;
  port: number;
  host: string | null;
  tenant: string | null;
}

export interface FlowView {
  src: Endpoint;
  dst: Endpoint;
  proto: number;
  /** src -> dst and dst -> src */
  pktsFwd: number; pktsRev: number; bytesFwd: number; bytesRev: number;
  syn: number; synack: number; rst: number;
  windowStart: bigint; windowEnd: bigint;
  flowKey: string;
  observationPoint: string;
}

export const endpointId = (vm: string | null, addr: string): string => vm ?? `ip:${addr}`;

function aIsClient(f: IdentifiedFlow): boolean {
  const pab = Number(f.packets_ab), pba = Number(f.packets_ba);
  if (pab > 0 && pba === 0) return true;
  if (pba > 0 && pab === 0) return false;
  const a = f.port_a, b = f.port_b;
  if (a === 0 || b === 0) return false;
  if ((a < 1024) !== (b < 1024)) return b < 1024;
  if ((a >= 32768) !== (b >= 32768)) return a >= 32768;
  return a > b;
}

export function viewOf(f: IdentifiedFlow): FlowView {
  const a: Endpoint = { id: endpointId(f.a_vm, f.addr_a), vm: f.a_vm, name: f.a_name, addr: f.addr_a, port: f.port_a, host: f.a_host, tenant: f.a_tenant };
  const b: Endpoint = { id: endpointId(f.b_vm, f.addr_b), vm: f.b_vm, name: f.b_name, addr: f.addr_b, port: f.port_b, host: f.b_host, tenant: f.b_tenant };
  const ac = aIsClient(f);
  const [pab, pba, bab, bba] = [Number(f.packets_ab), Number(f.packets_ba), Number(f.bytes_ab), Number(f.bytes_ba)];
  return {
    src: ac ? a : b, dst: ac ? b : a, proto: f.ip_proto,
    pktsFwd: ac ? pab : pba, pktsRev: ac ? pba : pab, bytesFwd: ac ? bab : bba, bytesRev: ac ? bba : bab,
    syn: Number(f.syn_count), synack: Number(f.synack_count), rst: Number(f.rst_count),
    windowStart: BigInt(f.window_start_ns), windowEnd: BigInt(f.window_end_ns), flowKey: f.flow_key, observationPoint: f.observation_point,
  };
}

/**
 * Repartition keys: `ep|<tenant>|<endpoint id>` for an endpoint, `hp|<host>|<host>` for a host
 * pair (unordered, lower name first: both directions of the link meet in one task).
 */
export const endpointKey = (e: Endpoint): string => `ep|${e.tenant ?? '-'}|${e.id}`;
export const hostPairKey = (h1: string, h2: string): string => (h1 <= h2 ? `hp|${h1}|${h2}` : `hp|${h2}|${h1}`);

/** The role of the keyed endpoint in a flow (a VM talking to itself is both). */
export function rolesOf(key: string, v: FlowView): { asSrc: boolean; asDst: boolean } {
  return { asSrc: endpointKey(v.src) === key, asDst: endpointKey(v.dst) === key };
}

/** A display name: the VM's name, else its id, else the address. */
export const label = (e: Endpoint): string => e.name ?? e.vm ?? e.addr;
