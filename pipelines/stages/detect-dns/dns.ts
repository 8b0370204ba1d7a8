/**
 * detect-dns: per DNS client (its events meet in one task, see detect-rekey-dns) and window:
 *   - dns_nxdomain_burst: many NXDOMAIN answers, a large share of its answers (DGA malware,
 *     a misconfigured search path);
 *   - dns_tunnel_suspect: many query names that are long or carry a long high-entropy label
 *     (names.ts). The client is attributed to a VM / tenant through the inventory.
 * A message seen by two monitors is counted once (flow key + DNS id + kind).
 */
import type { L7Event } from '../../../schemas/l7-event';
import type { VmInventory } from '../../../schemas/vm-inventory';
import type { AlertType } from '../../../schemas/alert';
import type { GlobalTableView, ProcessorContext, StreamRecord } from '../../runtime/types';
import { WindowedDetector } from '../../alerting/windowed';
import { settingsFor } from '../../alerting/overrides';
import { fmtNum, fmtPct } from '../../alerting/format';
import type { Breach } from '../../alerting/lifecycle';
import { dnsClientOf } from '../detect-rekey-dns';
import { judgeName } from './names';
import type { DetectDnsConfig, DnsSettings } from './config';

export const INVENTORY_TABLE = 'inventory';

export interface DnsAcc {
  client: string; vm: string | null; name: string | null; host: string | null; tenant: string | null;
  seen: Set<string>;
  queries: number; answers: number; nxdomain: number; suspicious: number;
  nxNames: string[]; tunnelNames: string[]; maxEntropy: number; maxLength: number; resolvers: Set<string>;
}

const SAMPLES = 5;
const short = (n: string) => (n.length > 80 ? `${n.slice(0, 77)}...` : n);

export class DnsProcessor extends WindowedDetector<L7Event, DnsAcc> {
  private inventory!: GlobalTableView<VmInventory>;

  constructor(private readonly cfg: DetectDnsConfig) { super('detect-dns', cfg); }

  protected override initDetector(ctx: ProcessorContext): void { this.inventory = ctx.globalTable<VmInventory>(INVENTORY_TABLE); }

  protected eventTimeOf(e: L7Event): bigint { return BigInt(e.ts_ns); }

  protected fold(w: bigint, rec: StreamRecord<L7Event>): void {
    const e = rec.value;
    const client = dnsClientOf(e);
    if (!client || !e.dns) { this.ctx.metrics.dropped('not-dns'); return; }
    let a = this.acc_(w, client);
    if (!a) {
      const inv = this.inventory.lookup(`ip:${client}`, BigInt(e.ts_ns))?.value;
      a = { client, vm: inv?.vm_id ?? null, name: inv?.name ?? null, host: inv?.host ?? null, tenant: inv?.tenant ?? null, seen: new Set(),
        queries: 0, answers: 0, nxdomain: 0, suspicious: 0, nxNames: [], tunnelNames: [], maxEntropy: 0, maxLength: 0, resolvers: new Set() };
    }
    const id = `${e.flow_key}|${e.dns.id}|${e.kind}|${e.dns.qname ?? ''}`;
    if (a.seen.has(id)) { this.ctx.metrics.dropped('duplicate-observation'); return; }
    if (a.seen.size < this.cfg.maxTracked) a.seen.add(id);
    const s = this.settingsOf(a);
    const qname = e.dns.qname ?? '';
    if (e.kind === 'DNS_RESPONSE') {
      a.answers++;
      if (a.resolvers.size < 8) a.resolvers.add(e.src_ip);
      if (e.dns.rcode === 3) { a.nxdomain++; if (a.nxNames.length < SAMPLES && qname) a.nxNames.push(short(qname)); }
    } else if (e.kind === 'DNS_QUERY') {
      // not DNS_UNANSWERED: parse emits it later for a query it has already sent as DNS_QUERY
      a.queries++;
      if (a.resolvers.size < 8) a.resolvers.add(e.dst_ip);
      if (qname) {
        const v = judgeName(qname, s.maxNameLength, s.minLabelLength, s.minEntropyBits);
        if (v.suspicious) {
          a.suspicious++;
          a.maxEntropy = Math.max(a.maxEntropy, v.entropy); a.maxLength = Math.max(a.maxLength, v.length);
          if (a.tunnelNames.length < SAMPLES) a.tunnelNames.push(short(qname));
        }
      }
    }
    this.putAcc(w, client, a);
  }

  private settingsOf(a: DnsAcc): DnsSettings {
    return settingsFor<DnsSettings>(this.cfg.defaults, this.cfg.overrides, a.tenant, [a.vm, a.name, a.client]);
  }

  protected evaluate(w: bigint, end: bigint, subjects: Map<string, DnsAcc>): void {
    const secs = Number(end - w) / 1e9;
    for (const a of subjects.values()) {
      const s = this.settingsOf(a);
      const subject = `${a.tenant ?? '-'}|${a.vm ?? `ip:${a.client}`}`;
      const ids = { tenant: a.tenant, vm_a: a.vm, addr_a: a.client, host_a: a.host };
      const who = a.name ?? a.vm ?? a.client;
      const ratio = a.answers > 0 ? a.nxdomain / a.answers : 0;
      const nxValue = ratio >= s.nxdomainRatio * (this.lifecycle.isOpen('dns_nxdomain_burst', subject) ? s.clearRatio : 1) ? a.nxdomain : 0;
      this.check(end, 'dns_nxdomain_burst', subject, nxValue, s.nxdomainMin, s, { ...ids, metric: 'nxdomain_per_window',
        summary: `${who}: ${a.nxdomain} NXDOMAIN answers of ${a.answers} (${fmtPct(ratio)}) in ${fmtNum(secs)} s`,
        evidence: { names_sample: a.nxNames.join(' '), answers: String(a.answers), resolvers: [...a.resolvers].join(','), window_s: fmtNum(secs) } });
      this.check(end, 'dns_tunnel_suspect', subject, a.suspicious, s.tunnelMinQueries, s, { ...ids, metric: 'suspicious_qnames_per_window',
        summary: `${who}: ${a.suspicious} of ${a.queries} DNS queries with long or random names in ${fmtNum(secs)} s (possible tunnel)`,
        evidence: { names_sample: a.tunnelNames.join(' '), max_entropy_bits: fmtNum(a.maxEntropy), max_length: String(a.maxLength),
          queries: String(a.queries), resolvers: [...a.resolvers].join(','), window_s: fmtNum(secs) } });
    }
  }

  private check(end: bigint, type: AlertType, subject: string, value: number, threshold: number, s: DnsSettings,
    b: Omit<Breach, 'type' | 'subject' | 'value' | 'threshold' | 'severity'>): void {
    const limit = this.lifecycle.isOpen(type, subject) ? threshold * s.clearRatio : threshold;
    if (value <= 0 || value < limit) return;
    this.lifecycle.breach(end, { ...b, type, subject, value, threshold, severity: value >= threshold * s.criticalFactor ? 'critical' : 'warning' });
  }
}
