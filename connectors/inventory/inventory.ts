/**
 * Connector `inventory-file`: publishes the VM inventory to tapline.inventory.v1 (compacted,
 * keyed by VM id, schemas/vm-inventory.v1.avsc), which every stage worker follows as the
 * versioned global table `inventory`.
 *
 * - Only changes are published: a VM whose entry is new or differs from what the topic holds
 *   gets a new version (valid_from_ns = the entry's `since`, else now); a VM gone from the
 *   source gets a tombstone. At start the topic is read first, so a restart republishes
 *   nothing unchanged and tombstones VMs removed while it was down.
 * - Source `file` (YAML/JSON, see entries.ts): watched with fs.watch on its directory (editors
 *   replace files by rename) plus polling of its stat every pollIntervalMs as a fallback (fs.watch
 *   is silent on some network/overlay file systems); changes are debounced.
 * - Source `virsh` (virsh.ts): asked again every virsh.intervalMs. It knows one hypervisor: it
 *   tombstones only this host's domains missing for virsh.removeAfterMs that the topic (read
 *   again) still places here, and a stopped domain does not claim a VM running elsewhere.
 * - An invalid file is a CONFIG_INVALID error naming the entry: at start() it is thrown; later
 *   it is logged, counted (errors{code=CONFIG_INVALID}), emitted as 'invalid', and nothing is
 *   published until the file is valid again (the last valid state stays on the topic).
 * - done() resolves after the first publish with watch: false, else after close().
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { AvroCodec } from '../../schemas';
import { VM_INVENTORY_SCHEMA, type VmInventory } from '../../schemas/vm-inventory';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { errorMessage, TaplineError } from '../../lib/errors';
import { readPartitionsToEnd, type KafkaClient, type OutMessage, type TaplineProducer } from '../../lib/kafka';
import type { Connector, ConnectorSummary } from '../types';
import { VirshConfigSchema, type InventoryConfig } from './config';
import { parseInventory, type VmEntry } from './entries';
import { VirshSource, type CommandRunner, type InventorySource } from './virsh';

export class FileSource implements InventorySource {
  readonly describe: string;
  constructor(readonly file: string) { this.describe = file; }
  async read(): Promise<VmEntry[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (e) {
      throw new TaplineError('IO', 'inventory-file', `cannot read inventory ${this.file}: ${errorMessage(e)}`, { retriable: true });
    }
    return parseInventory(text, this.file);
  }
}

/** What changed in one publish. */
export interface InventoryChange { upserts: VmInventory[]; removed: string[] }

export interface InventoryOptions {
  /** wall clock in ns (tests) */
  now?: () => bigint;
  /** virsh runner (tests: recorded output) */
  virshRunner?: CommandRunner;
  /** reads the topic's current state, latest version per VM id (default: from Kafka) */
  readTopic?: () => Promise<Map<string, VmInventory>>;
}

/** The content of a version that makes it "changed" (everything but valid_from). */
function contentOf(v: VmInventory): string {
  return JSON.stringify([v.name, v.host, [...v.macs].sort(), [...v.ips].sort(), v.tenant, v.project, v.subnet,
    v.nic_capacity_bps === null ? null : String(v.nic_capacity_bps)]);
}

export class InventoryConnector extends EventEmitter implements Connector {
  readonly type = 'inventory-file';
  readonly metrics = new ComponentMetrics('inventory-file');
  readonly source: InventorySource;
  private readonly log = logger('inventory-file');
  private readonly codec = new AvroCodec<VmInventory>(VM_INVENTORY_SCHEMA);
  private readonly now: () => bigint;
  private readonly readTopic: () => Promise<Map<string, VmInventory>>;
  /** virsh: since when (ns) a domain of this host has been missing */
  private readonly absentSince = new Map<string, bigint>();
  /** what the topic holds: latest version per VM id */
  readonly published = new Map<string, VmInventory>();
  private producer: TaplineProducer | null = null;
  private watcher: fs.FSWatcher | null = null;
  private timers: NodeJS.Timeout[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastStat = '';
  private readonly summary: ConnectorSummary = { packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null };
  private finished!: (s: ConnectorSummary) => void;
  private readonly finishedP: Promise<ConnectorSummary>;
  private started = false;
  private closed = false;
  /** number of completed reloads (valid or not), and the last error */
  reloads = 0;
  lastError: TaplineError | null = null;

  constructor(private readonly cfg: InventoryConfig, private readonly kafka: KafkaClient, opts: InventoryOptions = {}) {
    super();
    this.now = opts.now ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.readTopic = opts.readTopic ?? (() => this.readTopicFromKafka());
    this.source = cfg.source === 'virsh' ? new VirshSource(cfg.virsh ?? VirshConfigSchema.parse({}), opts.virshRunner) : new FileSource(path.resolve(cfg.path!));
    this.finishedP = new Promise((r) => { this.finished = r; });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Validate before touching Kafka: an invalid file publishes nothing at all.
    const entries = await this.source.read();
    await this.kafka.ensureTopics([{ topic: this.cfg.topic, partitions: 1, compacted: true }]);
    await this.loadTopic();
    // close() during start: publish nothing, leave no producer, watcher or timer behind
    if (this.closed) return;
    const producer = this.kafka.producer({ idempotent: true });
    this.producer = producer;
    await producer.connect();
    if (this.closed) { await producer.close().catch(() => undefined); return; }
    await this.publish(entries);
    this.reloads++;
    if (this.closed) return;
    if (!this.cfg.watch) { this.finished(this.summary); return; }
    if (this.source instanceof FileSource) this.watchFile(this.source.file);
    else this.timers.push(setInterval(() => this.schedule(0), this.cfg.virsh?.intervalMs ?? 30_000));
  }

  done(): Promise<ConnectorSummary> { return this.finishedP; }

  /** What the compacted topic holds now (this connector's and any other publisher's versions). */
  private async loadTopic(): Promise<void> {
    const state = await this.readTopic();
    this.published.clear();
    for (const [k, v] of state) this.published.set(k, v);
  }

  private async readTopicFromKafka(): Promise<Map<string, VmInventory>> {
    const state = new Map<string, VmInventory>();
    const parts = [...(await this.kafka.endOffsets(this.cfg.topic)).keys()];
    await readPartitionsToEnd(this.kafka, this.cfg.topic, parts, (_p, m) => {
      const key = m.key?.toString();
      if (!key) return;
      if (m.value === null) { state.delete(key); return; }
      try { state.set(key, this.codec.decode(m.value)); } catch { this.metrics.error('AVRO_DECODE'); }
    });
    return state;
  }

  /**
   * VMs to tombstone. A file is the whole inventory: whatever is not in it goes. virsh knows only
   * this host: a domain gone from it may have migrated, so it is removed only after
   * virsh.removeAfterMs, and only if the topic (read again) still places it on this host.
   */
  private async removals(seen: Set<string>, now: bigint): Promise<string[]> {
    const gone = [...this.published.keys()].filter((id) => !seen.has(id)).sort();
    if (!(this.source instanceof VirshSource)) return gone;
    for (const id of [...this.absentSince.keys()]) if (seen.has(id)) this.absentSince.delete(id);
    const host = this.source.host;
    const graceNs = BigInt(this.cfg.virsh?.removeAfterMs ?? 90_000) * 1_000_000n;
    const due: string[] = [];
    for (const id of gone) {
      if (this.published.get(id)!.host !== host) continue; // another host's VM
      const since = this.absentSince.get(id) ?? now;
      this.absentSince.set(id, since);
      if (now - since >= graceNs) due.push(id);
    }
    if (due.length === 0) return [];
    await this.loadTopic(); // another hypervisor may have published it meanwhile
    const out = due.filter((id) => this.published.get(id)?.host === host);
    for (const id of due) this.absentSince.delete(id);
    return out;
  }

  private watchFile(file: string): void {
    const dir = path.dirname(file), base = path.basename(file);
    this.lastStat = this.statKey(file);
    try {
      this.watcher = fs.watch(dir, { persistent: false }, (_ev, name) => {
        if (name === null || name.toString() === base) this.schedule(this.cfg.debounceMs);
      });
      this.watcher.on('error', (e) => this.log.warn({ err: errorMessage(e) }, 'fs.watch failed; polling only'));
    } catch (e) {
      this.log.warn({ err: errorMessage(e), dir }, 'fs.watch unavailable; polling only');
    }
    const poll = setInterval(() => {
      const k = this.statKey(file);
      if (k !== this.lastStat) { this.lastStat = k; this.schedule(this.cfg.debounceMs); }
    }, this.cfg.pollIntervalMs);
    poll.unref();
    this.timers.push(poll);
  }

  private statKey(file: string): string {
    try { const s = fs.statSync(file, { bigint: true }); return `${s.ino}:${s.size}:${s.mtimeNs}`; } catch { return 'missing'; }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.chain = this.chain.then(() => this.reload());
    }, delayMs);
  }

  /** Re-reads the source now and publishes what changed (also for callers that know the file changed). */
  reloadNow(): Promise<void> {
    this.chain = this.chain.then(() => this.reload());
    return this.chain;
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    if (this.source instanceof FileSource) this.lastStat = this.statKey(this.source.file);
    try {
      const entries = await this.source.read();
      const change = await this.publish(entries);
      this.lastError = null;
      this.reloads++;
      this.emit('reloaded', change);
    } catch (e) {
      const err = e instanceof TaplineError ? e : new TaplineError('INTERNAL', 'inventory-file', errorMessage(e), { cause: e });
      this.lastError = err;
      this.metrics.error(err.code);
      this.log.error({ code: err.code, source: this.source.describe }, err.message);
      this.reloads++;
      this.emit('invalid', err);
    }
  }

  /** Publishes the difference between `entries` and the topic; returns it. */
  private async publish(entries: VmEntry[]): Promise<InventoryChange> {
    const now = this.now();
    const upserts: VmInventory[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.id);
      const prev = this.published.get(e.id);
      let validFrom = e.since ?? now;
      const v: VmInventory = {
        vm_id: e.id, name: e.name, macs: e.macs, ips: e.ips, host: e.host, tenant: e.tenant, project: e.project,
        subnet: e.subnet, nic_capacity_bps: e.nicCapacityBps, valid_from_ns: validFrom,
      };
      // A defined but stopped domain (shared storage, or the far end of a migration) does not
      // take a VM away from the host the topic places it on.
      if (e.active === false && prev && prev.host !== e.host) continue;
      if (prev) {
        const same = contentOf(prev) === contentOf(v);
        if (same && (e.since === null || e.since === BigInt(prev.valid_from_ns))) continue;
        // versions of one VM only move forward in time (a clock step back must not hide this one)
        if (e.since === null && validFrom <= BigInt(prev.valid_from_ns)) validFrom = BigInt(prev.valid_from_ns) + 1n;
        v.valid_from_ns = validFrom;
      }
      upserts.push(v);
    }
    const removed = await this.removals(seen, now);
    const messages: OutMessage[] = [
      ...upserts.map((v) => ({ key: v.vm_id, value: this.codec.encode(v) })),
      ...removed.map((id) => ({ key: id, value: null })),
    ];
    if (messages.length) {
      await this.producer!.send(this.cfg.topic, messages);
      this.metrics.sent(messages.length);
      this.summary.packets += messages.length;
      this.summary.firstTsNs ??= now;
      this.summary.lastTsNs = now;
      for (const v of upserts) this.published.set(v.vm_id, v);
      for (const id of removed) this.published.delete(id);
      this.log.info({ source: this.source.describe, upserts: upserts.map((v) => v.vm_id), removed }, 'inventory published');
    }
    return { upserts, removed };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    for (const t of this.timers) clearInterval(t);
    if (this.debounce) clearTimeout(this.debounce);
    await this.chain.catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
    this.finished(this.summary);
  }
}
