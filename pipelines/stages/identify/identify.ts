/**
 * Stage `identify`: attributes both endpoints of every flow window to the inventory VM that
 * held the address at the window's first_seen_ns (the global table `inventory`, versioned by
 * valid_from_ns: an address later reused by another VM never changes earlier windows), tells
 * intra-host / inter-host / external traffic apart, and reports migrations.
 *
 * Migrations, once per move, from whichever evidence comes first:
 *  - inventory: a newer version of a VM names another host. Found by scanning the versions of
 *    the table up to the task's stream time (after each input batch), so a move is reported even
 *    when the VM sends nothing, at the version's valid_from_ns.
 *  - traffic: a flow window is seen at an observation point whose host is neither endpoint's
 *    host, and exactly one endpoint is an inventory VM: that VM now runs there (a SPAN/mirror
 *    port only sees the traffic of its own host's VM ports). With two VM endpoints it is
 *    ambiguous which one moved: counted (dropped{reason=ambiguous-sighting}), nothing emitted.
 *    Until the inventory catches up, that VM's windows from then on carry the observed host.
 * Identity never changes: the VM id is the inventory's key, whatever host it runs on.
 *
 * State (store `vm-hosts`, per VM id): the last host fact (host, since, source) and the traffic
 * overrides. Like every store it is per input partition, and the flow topic is keyed by flow
 * key: with several partitions each task may report the same move. So these are candidates
 * (tapline.vm-events.candidates.v1, keyed by VM id): the `vm-events` stage, where all of one
 * VM's candidates meet, makes them one VmEvent per move on tapline.vm-events.v1.
 */
import type { FlowWindow } from '../../../schemas/types';
import type { VmInventory } from '../../../schemas/vm-inventory';
import type { IdentifiedFlow, TrafficClass } from '../../../schemas/identified-flow';
import type { VmEvent } from '../../../schemas/vm-event';
import type { GlobalTableView, KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import type { IdentifyConfig } from './config';

export const VM_HOSTS_STORE = 'vm-hosts';
export const INVENTORY_TABLE = 'inventory';

export interface VmHostState {
  host: string;
  since: bigint;
  source: 'inventory' | 'traffic';
  /** hosts seen by traffic, newer than the inventory version they override; oldest first */
  overrides: { since: bigint; host: string }[];
}

interface Endpoint { vm: string; v: VmInventory; since: bigint; host: string }

export class IdentifyProcessor implements Processor<FlowWindow> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<VmHostState>;
  private table!: GlobalTableView<VmInventory>;
  private readonly opHosts = new Map<string, string | null>();
  private lastScanUpdates = -1;
  private nextPendingTs: bigint | null = null;

  constructor(private readonly cfg: IdentifyConfig) {}

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<VmHostState>(VM_HOSTS_STORE);
    this.table = ctx.globalTable<VmInventory>(INVENTORY_TABLE);
  }

  process(rec: StreamRecord<FlowWindow>): void {
    const f = rec.value;
    const ts = BigInt(f.first_seen_ns);
    // Inventory moves up to this time first, so a traffic sighting never duplicates one.
    this.scanInventory(ts > this.ctx.streamTimeNs() ? ts : this.ctx.streamTimeNs());
    const observed = this.hostOf(f.observation_point);
    let a = this.endpoint(f.addr_a, ts);
    let b = this.endpoint(f.addr_b, ts);
    if (observed !== null && a?.host !== observed && b?.host !== observed) {
      const vms = [a, b].filter((e): e is Endpoint => e !== null);
      if (vms.length === 1) {
        this.sightedAt(vms[0], observed, ts, f.observation_point);
        a = this.endpoint(f.addr_a, ts);
        b = this.endpoint(f.addr_b, ts);
      } else if (vms.length === 2 && vms[0].vm !== vms[1].vm) {
        this.ctx.metrics.dropped('ambiguous-sighting');
      }
    }
    const cls: TrafficClass = a && b ? (a.host === b.host ? 'intra_host' : 'inter_host') : 'external';
    const out: IdentifiedFlow = {
      ...f, // every FlowWindow field, as the schema (identified-flow.v1 starts with flow-window.v1's fields)
      observed_host: observed,
      a_vm: a?.vm ?? null, a_name: a?.v.name ?? null, a_host: a?.host ?? null, a_tenant: a?.v.tenant ?? null,
      b_vm: b?.vm ?? null, b_name: b?.v.name ?? null, b_host: b?.host ?? null, b_tenant: b?.v.tenant ?? null,
      traffic_class: cls,
    };
    if (!a && !b) this.ctx.metrics.dropped('unidentified'); // still forwarded: counted, not lost
    this.ctx.forward(this.cfg.outputTopic, rec.key ?? f.flow_key, out);
  }

  punctuate(streamTimeNs: bigint): void {
    this.scanInventory(streamTimeNs);
  }

  close(): void { /* state is in the store */ }

  /** The VM that held `addr` at `ts`, with its host then (inventory, or a newer traffic sighting). */
  private endpoint(addr: string, ts: bigint): Endpoint | null {
    const r = this.table.lookup(`ip:${addr}`, ts);
    if (!r) return null;
    let host = r.value.host;
    const st = this.store.get(r.key);
    if (st) {
      for (const o of st.overrides) if (o.since <= ts && o.since > r.since) host = o.host;
    }
    return { vm: r.key, v: r.value, since: r.since, host };
  }

  /** Traffic says `e` runs on `host` from `ts` on. */
  private sightedAt(e: Endpoint, host: string, ts: bigint, op: string): void {
    const st = this.store.get(e.vm);
    if (st && ts < st.since) { this.ctx.metrics.dropped('late-sighting'); return; } // never rewrite a newer fact
    const from = st?.host ?? e.host;
    if (from !== host) this.emit({ type: 'migration', vm: e.vm, vm_name: e.v.name, from_host: from, to_host: host, at: ts, source: 'traffic', observation_point: op });
    const overrides = [...(st?.overrides ?? []), { since: ts, host }].slice(-this.cfg.maxOverrides);
    this.store.put(e.vm, { host, since: ts, source: 'traffic', overrides });
  }

  /**
   * Walks the inventory versions valid at or before `upTo` that are newer than each VM's last
   * fact and reports host changes. Cheap when nothing changed: it runs again only after the
   * table got updates or stream time reached a version that was still in the future.
   */
  private scanInventory(upTo: bigint): void {
    const updates = (this.table as unknown as { updates?: number }).updates ?? -2;
    const due = this.nextPendingTs !== null && upTo >= this.nextPendingTs;
    if (updates !== -2 && updates === this.lastScanUpdates && !due) return;
    if (updates !== this.lastScanUpdates) this.opHosts.clear();
    this.lastScanUpdates = updates;
    this.nextPendingTs = null;
    for (const [vm, latest] of this.table.entries()) {
      const versions = this.versionsOf(vm, latest);
      let st = this.store.get(vm);
      let changed = false;
      for (const v of versions) {
        if (v.ts > upTo) {
          if (this.nextPendingTs === null || v.ts < this.nextPendingTs) this.nextPendingTs = v.ts;
          break;
        }
        if (st && v.ts <= st.since) continue;
        if (!st) {
          st = { host: v.value.host, since: v.ts, source: 'inventory', overrides: [] };
        } else if (v.value.host !== st.host) {
          this.emit({ type: 'migration', vm, vm_name: v.value.name, from_host: st.host, to_host: v.value.host, at: v.ts, source: 'inventory', observation_point: null });
          st = { host: v.value.host, since: v.ts, source: 'inventory', overrides: st.overrides };
        } else {
          st = { ...st, since: v.ts, source: 'inventory' }; // the inventory caught up with traffic
        }
        changed = true;
      }
      if (changed && st) this.store.put(vm, st);
    }
  }

  /** Every stored version of one VM, oldest first (from the histories of its index keys). */
  private versionsOf(vm: string, latest: VmInventory): { ts: bigint; value: VmInventory }[] {
    const byTs = new Map<bigint, VmInventory>();
    const keys = [...latest.macs.map((m) => `mac:${m.toLowerCase()}`), ...latest.ips.map((ip) => `ip:${ip}`)];
    for (const k of keys) {
      for (const h of this.table.history(k)) if (h.key === vm && h.value !== null) byTs.set(h.ts, h.value);
    }
    return [...byTs].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([ts, value]) => ({ ts, value }));
  }

  /** Host watched by an observation point (config, else a ':'-part naming an inventory host). */
  private hostOf(op: string): string | null {
    const explicit = this.cfg.observationHosts[op];
    if (explicit !== undefined) return explicit;
    const cached = this.opHosts.get(op);
    if (cached !== undefined) return cached;
    const hosts = new Set<string>();
    for (const [, v] of this.table.entries()) hosts.add(v.host);
    let found: string | null = null;
    for (const part of op.split(':')) if (hosts.has(part)) { found = part; break; } // the first, as documented
    if (found !== null || hosts.size > 0) this.opHosts.set(op, found); // negative answers once the table has hosts
    return found;
  }

  private emit(e: VmEvent): void {
    this.ctx.forward(this.cfg.eventsTopic, e.vm, e);
  }
}
