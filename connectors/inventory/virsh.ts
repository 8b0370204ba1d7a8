/**
 * The optional libvirt source: what `virsh` says about the domains of this hypervisor.
 *
 *   virsh list --all             -> domain names (running or not)
 *   virsh domuuid <dom>          -> the VM id (a UUID survives renames and migrations)
 *   virsh domiflist <dom>        -> MACs
 *   virsh domifaddr <dom>        -> IPs (running domains; lease or agent source)
 *
 * virsh is run through a CommandRunner, so the parsers are tested on recorded output without
 * libvirt (connectors/inventory/fixtures/virsh/). The physical host is this machine (config
 * `virsh.host`, default its hostname): each hypervisor runs its own connector.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { TaplineError } from '../../lib/errors';
import { normalizeIp, normalizeMac, parseBps, type VmEntry } from './entries';
import type { VirshConfig } from './config';

export type CommandRunner = (args: string[]) => Promise<string>;

/** Where entries come from: the file, or virsh. */
export interface InventorySource {
  readonly describe: string;
  read(): Promise<VmEntry[]>;
}

/** Data rows of a virsh table: after the dashed rule, split on runs of 2+ spaces (names may hold single spaces). */
function rows(text: string): string[][] {
  const lines = text.split('\n');
  const rule = lines.findIndex((l) => /^-{5,}\s*$/.test(l.trim()));
  if (rule < 0) return [];
  return lines.slice(rule + 1).map((l) => l.trim()).filter((l) => l.length > 0).map((l) => l.split(/\s{2,}|\t+/));
}

export interface VirshDomain { id: string | null; name: string; state: string }

/** `virsh list --all`:  Id  Name  State  (Id "-" when shut off). */
export function parseVirshList(text: string): VirshDomain[] {
  return rows(text).map((r) => {
    if (r.length < 3) {
      // "1    web 01    running" would split badly only with single spaces: fall back to first/last words
      const w = r.join('  ').split(/\s+/);
      return { id: w[0] === '-' ? null : w[0], name: w.slice(1, -1).join(' '), state: w[w.length - 1] };
    }
    return { id: r[0] === '-' ? null : r[0], name: r[1], state: r.slice(2).join(' ') };
  });
}

/** `virsh domiflist <dom>`: Interface Type Source Model MAC -> MACs (lower case). */
export function parseDomiflist(text: string): { iface: string; mac: string }[] {
  const out: { iface: string; mac: string }[] = [];
  for (const r of rows(text)) {
    const words = r.join(' ').split(/\s+/);
    const mac = normalizeMac(words[words.length - 1]);
    if (mac) out.push({ iface: words[0], mac });
  }
  return out;
}

/** `virsh domifaddr <dom>`: Name, MAC address, Protocol, Address/prefix; "-" continues the interface above. */
export function parseDomifaddr(text: string): { iface: string; mac: string; ip: string; prefix: number }[] {
  const out: { iface: string; mac: string; ip: string; prefix: number }[] = [];
  let iface = '', mac = '';
  for (const r of rows(text)) {
    const w = r.join(' ').split(/\s+/);
    if (w.length < 4) continue;
    if (w[0] !== '-') iface = w[0];
    if (w[1] !== '-') mac = normalizeMac(w[1]) ?? mac;
    const [addr, pfx] = w[3].split('/');
    const ip = normalizeIp(addr);
    if (ip) out.push({ iface, mac, ip, prefix: Number(pfx ?? (ip.includes(':') ? 128 : 32)) });
  }
  return out;
}

export class VirshSource implements InventorySource {
  readonly describe: string;
  /** the physical host this source describes */
  readonly host: string;
  private readonly run: CommandRunner;

  constructor(private readonly cfg: VirshConfig, run?: CommandRunner) {
    const base = cfg.uri ? ['-c', cfg.uri] : [];
    this.run = run ?? (async (args) => {
      try {
        const { stdout } = await promisify(execFile)(cfg.command, [...base, ...args], { encoding: 'utf8', timeout: 30_000 });
        return stdout;
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        if (err.code === 'ENOENT') throw new TaplineError('IO', 'inventory-file', `${cfg.command} not found: install libvirt-clients or use source: file`);
        throw new TaplineError('IO', 'inventory-file', `${cfg.command} ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`, { retriable: true });
      }
    });
    this.describe = `virsh${cfg.uri ? ` -c ${cfg.uri}` : ''}`;
    this.host = cfg.host ?? os.hostname();
  }

  async read(): Promise<VmEntry[]> {
    const host = this.host;
    const out: VmEntry[] = [];
    for (const d of parseVirshList(await this.run(['list', '--all']))) {
      const uuid = (await this.run(['domuuid', d.name])).trim();
      const macs = parseDomiflist(await this.run(['domiflist', d.name])).map((x) => x.mac);
      // Only a running domain has addresses (and only it can be asked without an error).
      const addrs = d.state === 'running' ? parseDomifaddr(await this.run(['domifaddr', d.name])).filter((a) => !a.ip.startsWith('fe80:')) : [];
      const subnet = this.cfg.subnet ?? null;
      out.push({
        id: uuid || d.name, name: d.name, host, macs: [...new Set(macs)], ips: [...new Set(addrs.map((a) => a.ip))],
        tenant: this.cfg.tenant ?? null, project: this.cfg.project ?? null, subnet,
        nicCapacityBps: this.cfg.nicCapacityBps !== undefined ? parseBps(this.cfg.nicCapacityBps) : null, since: null,
        active: d.state === 'running',
      });
    }
    return out;
  }
}
