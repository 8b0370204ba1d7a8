/** Test records for the identify and rollup stage tests (inventory versions and flow windows). */
import type { FlowWindow } from '../../../schemas/types';
import type { VmInventory } from '../../../schemas/vm-inventory';

const S = 1_000_000_000n;

export function vm(id: string, host: string, ips: string[], sinceSec: number, extra: Partial<VmInventory> = {}): VmInventory {
  return { vm_id: id, name: `${id}-name`, macs: [`02:00:00:00:00:${id.slice(-2).padStart(2, '0')}`], ips, host, tenant: 'acme',
    project: null, subnet: null, nic_capacity_bps: 10_000_000_000n, valid_from_ns: BigInt(sinceSec) * S, ...extra };
}

export function flow(a: string, pa: number, b: string, pb: number, firstSec: number, op: string, extra: Partial<FlowWindow> = {}): FlowWindow {
  const first = BigInt(Math.round(firstSec * 1000)) * 1_000_000n;
  const w = first - (first % (10n * S));
  return {
    window_start_ns: w, window_end_ns: w + 10n * S, flow_key: `6|${a}|${pa}|${b}|${pb}`, ip_proto: 6,
    addr_a: a, port_a: pa, addr_b: b, port_b: pb, packets_ab: 10n, bytes_ab: 1000n, packets_ba: 5n, bytes_ba: 300n,
    syn_count: 0n, synack_count: 0n, fin_count: 0n, rst_count: 0n, zero_window_count: 0n, malformed_count: 0n,
    first_seen_ns: first, last_seen_ns: first + S, observation_point: op, ...extra,
  };
}

