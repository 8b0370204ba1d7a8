/**
 * The inventory file: YAML or JSON, either a list of VMs or `{ vms: [...] }`. Each entry:
 *
 *   id: vm-1                  # required, stable identity (a migration keeps it)
 *   name: web-1               # default: id
 *   host: hv1                 # required, physical host
 *   macs: [02:77:00:00:00:01] # or mac: ...
 *   ips: [10.77.1.11]         # or ip: ...
 *   tenant: acme              # optional, as project, subnet (CIDR)
 *   nicCapacityBps: 10G       # bits/s: a number, or "10G", "25Gbit", "100M"
 *   since: 2026-11-28T15:00:00Z  # optional: valid_from of this version (ISO 8601, or integer ns)
 *
 * Validation is all-or-nothing: any error (unknown key, bad address, an id/IP/MAC held by two
 * entries) is a CONFIG_INVALID naming the file, the entry (index and id) and the field.
 */
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { TaplineError } from '../../lib/errors';
import { ipv6 } from '../../lib/decode/addr';

/** A validated, normalized VM entry (everything of a version but its valid_from). */
export interface VmEntry {
  id: string;
  name: string;
  host: string;
  macs: string[];
  ips: string[];
  tenant: string | null;
  project: string | null;
  subnet: string | null;
  nicCapacityBps: bigint | null;
  /** explicit valid_from (ns) from the file */
  since: bigint | null;
  /** virsh: false for a domain that is not running (it does not claim its host over another's) */
  active?: boolean;
}

const num = z.union([z.number(), z.bigint(), z.string()]);
const oneOrMany = z.union([z.string(), z.array(z.string())]);

const EntrySchema = z.object({
  id: z.union([z.string().min(1), z.number(), z.bigint()]),
  name: z.string().min(1).optional(),
  host: z.string().min(1),
  macs: oneOrMany.optional(),
  mac: oneOrMany.optional(),
  ips: oneOrMany.optional(),
  ip: oneOrMany.optional(),
  tenant: z.string().nullable().optional(),
  project: z.string().nullable().optional(),
  subnet: z.string().nullable().optional(),
  nicCapacityBps: num.nullable().optional(),
  nic_capacity_bps: num.nullable().optional(),
  since: z.union([num, z.date()]).nullable().optional(),
}).strict();

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function normalizeMac(m: string): string | null {
  const s = m.trim();
  return MAC_RE.test(s) ? s.toLowerCase().replace(/-/g, ':') : null;
}

/** IPv4 as is; IPv6 in the decoder's text form (RFC 5952), so lookups match flow addresses. */
export function normalizeIp(a: string): string | null {
  const s = a.trim();
  const kind = net.isIP(s);
  if (kind === 4) return s.split('.').map((o) => String(Number(o))).join('.');
  if (kind !== 6) return null;
  const buf = ipv6Bytes(s);
  return buf ? ipv6(buf, 0) : null;
}

function ipv6Bytes(s: string): Buffer | null {
  let text = s.toLowerCase();
  const out = Buffer.alloc(16);
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  tail = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const words = [...h.map((x) => parseInt(x, 16))];
  if (rest !== undefined) while (words.length + tail.length < 8) words.push(0);
  words.push(...tail);
  if (words.length !== 8 || words.some((w) => Number.isNaN(w))) return null;
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

const UNITS: Record<string, bigint> = { '': 1n, k: 1000n, m: 1_000_000n, g: 1_000_000_000n, t: 1_000_000_000_000n };

export function parseBps(v: number | bigint | string): bigint | null {
  if (typeof v === 'bigint') return v >= 0n ? v : null;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? BigInt(v) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit\/s|bits\/s|bps|bit|b)?\s*$/i.exec(v);
  if (!m) return null;
  const [whole, frac = ''] = m[1].split('.');
  const unit = UNITS[m[2].toLowerCase()];
  const scale = 10n ** BigInt(frac.length);
  return (BigInt(whole + frac) * unit) / scale;
}

export function parseSince(v: number | bigint | string | Date): bigint | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : BigInt(v.getTime()) * 1_000_000n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (/^\d+$/.test(v.trim())) return BigInt(v.trim());
  // ISO 8601 with sub-millisecond digits kept
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/.exec(v.trim());
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Parses and validates inventory text. `file` names the source in error messages. */
export function parseInventory(text: string, file: string): VmEntry[] {
  const bad = (msg: string) => new TaplineError('CONFIG_INVALID', 'inventory-file', `invalid inventory ${file}: ${msg}; nothing published`);
  let doc: unknown;
  try {
    doc = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text, { intAsBigInt: true });
  } catch (e) {
    throw bad(`not ${path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  const items = Array.isArray(doc) ? doc : typeof doc === 'object' && 'vms' in (doc as object) ? (doc as { vms: unknown }).vms : undefined;
  if (items === null) return [];
  if (!Array.isArray(items)) throw bad('expected a list of VMs or { vms: [...] }');
  const out: VmEntry[] = [];
  const ids = new Map<string, number>(), ipOwner = new Map<string, number>(), macOwner = new Map<string, number>();
  items.forEach((raw, i) => {
    const rawId = raw && typeof raw === 'object' && 'id' in raw ? String((raw as { id: unknown }).id) : null;
    const where = `vms[${i}]${rawId ? ` (id "${rawId}")` : ''}`;
    const r = EntrySchema.safeParse(raw);
    if (!r.success) {
      throw bad(`${where}: ${r.error.issues.map((x) => `${x.path.join('.') || '(entry)'}: ${x.code === 'unrecognized_keys' ? `unknown key(s) ${x.keys.join(', ')}` : x.message}`).join('; ')}`);
    }
    const e = r.data;
    const id = String(e.id);
    if (ids.has(id)) throw bad(`${where}: id "${id}" is also vms[${ids.get(id)}]`);
    ids.set(id, i);
    const macs = [...list(e.macs), ...list(e.mac)].map((m, j) => {
      const n = normalizeMac(m);
      if (!n) throw bad(`${where}: macs[${j}]: "${m}" is not a MAC address`);
      if (macOwner.has(n) && macOwner.get(n) !== i) throw bad(`${where}: MAC ${n} is also held by vms[${macOwner.get(n)}]`);
      macOwner.set(n, i);
      return n;
    });
    const ips = [...list(e.ips), ...list(e.ip)].map((a, j) => {
      const n = normalizeIp(a.includes('/') ? a.slice(0, a.indexOf('/')) : a);
      if (!n) throw bad(`${where}: ips[${j}]: "${a}" is not an IP address`);
      if (ipOwner.has(n) && ipOwner.get(n) !== i) throw bad(`${where}: IP ${n} is also held by vms[${ipOwner.get(n)}]`);
      ipOwner.set(n, i);
      return n;
    });
    const capRaw = e.nicCapacityBps ?? e.nic_capacity_bps ?? null;
    const cap = capRaw === null ? null : parseBps(capRaw);
    if (capRaw !== null && cap === null) throw bad(`${where}: nicCapacityBps: "${String(capRaw)}" is not a rate in bits/s`);
    const since = e.since === undefined || e.since === null ? null : parseSince(e.since);
    if (e.since !== undefined && e.since !== null && since === null) throw bad(`${where}: since: "${String(e.since)}" is neither ISO 8601 nor integer nanoseconds`);
    if (e.subnet && !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(e.subnet)) throw bad(`${where}: subnet: "${e.subnet}" is not a CIDR`);
    out.push({
      id, name: e.name ?? id, host: e.host, macs: [...new Set(macs)], ips: [...new Set(ips)],
      tenant: e.tenant ?? null, project: e.project ?? null, subnet: e.subnet ?? null, nicCapacityBps: cap, since,
    });
  });
  return out;
}
