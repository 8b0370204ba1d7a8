/**
 * Alerts against a scenario's ground truth (issue #6): precision and recall per detector.
 *
 * - Alerts are counted per occurrence (its `id`: open + updates + resolve are one alert).
 * - An alert is a TRUE POSITIVE of an injected event when (1) its type is the event's own type,
 *   or one the event also legitimately causes (SECONDARY below: a SYN flood is also a flood of
 *   failed connections), (2) every VM / address it names belongs to the event (its source, its
 *   target, or the swept subnet) and it names at least one, and (3) its first_seen lies within
 *   the event's interval widened by one window of the alert's detector on each side (a window that overlaps
 *   the event ends at most one window after it).
 * - Precision of a detector: its alerts that match some event / all its alerts. Recall: events
 *   of the types it owns that got an alert of their own type / those events. Background
 *   conversations and the learning period are normal traffic: an alert there is a false one.
 */
import type { Alert, AlertType } from '../../schemas/alert';
import type { GroundTruth, GroundTruthEvent } from './dataset';

/** Alert types an injected event legitimately raises besides its own. */
/** Alert types an injected event legitimately raises besides its own. new_pair after a scan,
 * sweep, flood or DNS burst: the probe reaches VMs its source never talked to, or a window holds
 * only the target's answers (SYN-ACKs, DNS responses), whose direction a passive observer can
 * only guess; listed as "also" in the report so such alerts stay visible. */
export const SECONDARY: Record<string, AlertType[]> = {
  port_scan: ['connection_failures', 'syn_flood', 'traffic_burst', 'new_pair'],
  host_sweep: ['connection_failures', 'port_scan', 'icmp_flood', 'new_pair'],
  syn_flood: ['connection_failures', 'traffic_burst', 'new_pair'],
  traffic_burst: [],
  new_pair: ['traffic_burst'],
  dns_nxdomain_burst: ['dns_tunnel_suspect', 'traffic_burst', 'new_pair'],
  dns_tunnel_suspect: ['dns_nxdomain_burst', 'traffic_burst', 'new_pair'],
};

/** Marked events that are no anomaly of their own but explain what they change: a migrated VM's
 * pairs take another path (here through the router, proxy ARP on the first packets), so their
 * RTT really jumps. Never new_pair: a migration must not make pairs new (checked apart). */
export const EXPLAINS: Record<string, AlertType[]> = { vm_migration: ['rtt_threshold', 'jitter_threshold', 'loss_threshold'] };

/** Which detector raises which type (for types no alert showed in a run). */
export const OWNER: Record<string, string> = {
  port_scan: 'detect-scans', host_sweep: 'detect-scans', syn_flood: 'detect-scans', icmp_flood: 'detect-scans', connection_failures: 'detect-scans',
  traffic_burst: 'detect-traffic', new_pair: 'detect-traffic',
  dns_nxdomain_burst: 'detect-dns', dns_tunnel_suspect: 'detect-dns',
};

export interface AlertOccurrence {
  id: string; type: AlertType; detector: string; severity: string;
  firstSeenNs: bigint; lastSeenNs: bigint; states: number;
  vmA: string | null; vmB: string | null; addrA: string | null; addrB: string | null; summary: string;
}

export function occurrences(alerts: Alert[]): AlertOccurrence[] {
  const byId = new Map<string, AlertOccurrence>();
  for (const a of alerts) {
    const o = byId.get(a.id);
    if (!o) {
      byId.set(a.id, { id: a.id, type: a.type, detector: a.detector, severity: a.severity, firstSeenNs: BigInt(a.first_seen_ns),
        lastSeenNs: BigInt(a.last_seen_ns), states: 1, vmA: a.vm_a, vmB: a.vm_b, addrA: a.addr_a, addrB: a.addr_b, summary: a.summary });
    } else {
      o.states++;
      if (BigInt(a.last_seen_ns) > o.lastSeenNs) o.lastSeenNs = BigInt(a.last_seen_ns);
      if (a.severity === 'critical') o.severity = 'critical';
    }
  }
  return [...byId.values()].sort((x, y) => (x.firstSeenNs < y.firstSeenNs ? -1 : x.firstSeenNs > y.firstSeenNs ? 1 : x.id.localeCompare(y.id)));
}

function ipInCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const n = Number(bits);
  const toInt = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !/^\d+\.\d+\.\d+\.\d+$/.test(net ?? '') || !(n >= 0 && n <= 32)) return false;
  const div = 2 ** (32 - n);
  return Math.floor(toInt(ip) / div) === Math.floor(toInt(net) / div);
}

/** VM ids and addresses the scenario names, for matching a VM id against a swept subnet. */
export interface Names { vms: Record<string, string>; ipOfId: Record<string, string> }

export function namesOf(gt: GroundTruth, vms: Record<string, string>): Names {
  const ipOfId: Record<string, string> = {};
  for (const e of [...gt.background, ...gt.events]) {
    if (e.src_vm && e.src_ip && vms[e.src_vm]) ipOfId[vms[e.src_vm]] = e.src_ip;
    if (e.dst_vm && e.dst_ip && vms[e.dst_vm]) ipOfId[vms[e.dst_vm]] = e.dst_ip;
  }
  return { vms, ipOfId };
}

/** Whether `x` (a VM id or an address) belongs to the event. */
function covers(e: GroundTruthEvent, x: string, n: Names): boolean {
  const own = [e.src_vm && n.vms[e.src_vm], e.src_ip, e.dst_vm && n.vms[e.dst_vm], e.dst_ip].filter(Boolean);
  if (own.includes(x)) return true;
  const targets = typeof e.detail.targets === 'string' ? e.detail.targets : null;
  return targets !== null && ipInCidr(n.ipOfId[x] ?? x, targets);
}

export function matches(a: AlertOccurrence, e: GroundTruthEvent, n: Names, windowNs: bigint, secondary = true): boolean {
  if (a.type !== e.type && !(secondary && (SECONDARY[e.type] ?? []).includes(a.type))) return false;
  const named = [a.vmA, a.vmB, a.addrA, a.addrB].filter((x): x is string => !!x);
  if (named.length === 0 || !named.every((x) => covers(e, x, n))) return false;
  const end = e.end_ns ?? e.start_ns;
  return a.firstSeenNs >= e.start_ns - windowNs && a.firstSeenNs <= end + windowNs;
}

export interface DetectorScore {
  detector: string; registered: boolean; types: string[];
  alerts: number; truePositives: number; precision: number | null;
  events: number; detected: number; recall: number | null;
}

export interface Evaluation {
  detectors: DetectorScore[];
  /** per injected event: the alerts of its own type that matched, and the others it explains */
  events: { event: GroundTruthEvent; owner: string; own: AlertOccurrence[]; secondary: AlertOccurrence[] }[];
  falseAlerts: AlertOccurrence[];
  /** new_pair alerts naming the migrated VM from its migration on (must be none) */
  migrationNewPairs: AlertOccurrence[];
  /** event types no registered detector owns (not evaluated) */
  uncovered: string[];
}

/** Evaluation windows of the detectors (the stages' defaults; a configuration may override them). */
export const DETECTOR_WINDOW_MS: Record<string, number> = { 'detect-dns': 60_000, 'detect-capacity': 3_600_000 };

export function evaluate(gt: GroundTruth, alerts: Alert[], opts: { vms: Record<string, string>; windowNs: bigint | ((detector: string) => bigint); registered: string[] }): Evaluation {
  const win = typeof opts.windowNs === 'function' ? opts.windowNs : (() => opts.windowNs as bigint);
  const occ = occurrences(alerts);
  const names = namesOf(gt, opts.vms);
  const injected = gt.events.filter((e) => e.type in SECONDARY);
  const ownerOf = (type: string) => occ.find((a) => a.type === type)?.detector ?? OWNER[type] ?? '(none)';
  const events = injected.map((event) => ({
    event, owner: ownerOf(event.type),
    own: occ.filter((a) => matches(a, event, names, win(a.detector), false)),
    secondary: occ.filter((a) => a.type !== event.type && matches(a, event, names, win(a.detector))),
  }));
  const explained = new Set(events.flatMap((e) => [...e.own, ...e.secondary].map((a) => a.id)));
  for (const e of gt.events.filter((x) => x.type in EXPLAINS)) {
    for (const a of occ) {
      const named = [a.vmA, a.vmB, a.addrA, a.addrB].filter((x): x is string => !!x);
      const mine = e.src_vm ? [names.vms[e.src_vm], e.src_ip] : [e.src_ip];
      if (EXPLAINS[e.type].includes(a.type) && named.some((x) => mine.includes(x)) && a.firstSeenNs >= e.start_ns - win(a.detector)) explained.add(a.id);
    }
  }
  const detectorNames = new Set([...opts.registered, ...occ.map((a) => a.detector)]);
  const detectors: DetectorScore[] = [...detectorNames].sort().map((detector) => {
    const mine = occ.filter((a) => a.detector === detector);
    const owned = events.filter((e) => e.owner === detector);
    const tp = mine.filter((a) => explained.has(a.id)).length;
    const detected = owned.filter((e) => e.own.length > 0).length;
    return {
      detector, registered: opts.registered.includes(detector),
      types: [...new Set([...mine.map((a) => a.type), ...owned.map((e) => e.event.type)])].sort(),
      alerts: mine.length, truePositives: tp, precision: mine.length ? tp / mine.length : null,
      events: owned.length, detected, recall: owned.length ? detected / owned.length : null,
    };
  });
  const migration = gt.events.find((e) => e.type === 'vm_migration');
  const migId = migration?.src_vm ? opts.vms[migration.src_vm] : undefined;
  const migrationNewPairs = migration ? occ.filter((a) => a.type === 'new_pair' && a.firstSeenNs >= migration.start_ns - win(a.detector)
    && [a.vmA, a.vmB, a.addrA, a.addrB].some((x) => x && (x === migId || x === migration.src_ip))) : [];
  const uncovered = [...new Set(events.filter((e) => !opts.registered.includes(e.owner)).map((e) => e.event.type))];
  return { detectors, events, falseAlerts: occ.filter((a) => !explained.has(a.id)), migrationNewPairs, uncovered };
}

const pct = (x: number | null) => (x === null ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
const secs = (ns: bigint, t0: bigint) => `${(Number(ns - t0) / 1e9).toFixed(0)}s`;

export function formatEvaluation(ev: Evaluation, t0: bigint): string {
  const out: string[] = [];
  out.push('detector                  alerts  true  precision  events  detected  recall   types');
  for (const d of ev.detectors) {
    out.push(`${(d.detector + (d.registered ? '' : ' (not registered)')).padEnd(24)} ${String(d.alerts).padStart(7)} ${String(d.truePositives).padStart(5)}  ${pct(d.precision).padStart(9)} ${String(d.events).padStart(7)} ${String(d.detected).padStart(9)}  ${pct(d.recall)}   ${d.types.join(', ')}`);
  }
  out.push('');
  out.push('injected events (t from the capture start):');
  for (const e of ev.events) {
    const who = `${e.event.src_vm ?? '?'} -> ${e.event.dst_vm ?? (e.event.detail.targets as string | undefined) ?? '?'}`;
    out.push(`  ${secs(e.event.start_ns, t0).padStart(5)} ${e.event.type.padEnd(20)} ${who.padEnd(20)} ${e.own.length ? `DETECTED by ${e.own.map((a) => `${a.detector} @${secs(a.firstSeenNs, t0)}`).join(', ')}` : `MISSED (owner ${e.owner})`}` +
      `${e.secondary.length ? `; also ${e.secondary.map((a) => a.type).join(', ')}` : ''}`);
  }
  for (const a of ev.falseAlerts) out.push(`  false alert @${secs(a.firstSeenNs, t0)}: ${a.detector} ${a.type} ${a.summary}`);
  for (const a of ev.migrationNewPairs) out.push(`  new_pair naming the migrated VM @${secs(a.firstSeenNs, t0)}: ${a.summary}`);
  if (ev.uncovered.length) out.push(`  NOT EVALUATED (no registered detector raises them): ${ev.uncovered.join(', ')}`);
  return out.join('\n');
}
