/**
 * pcap-live source: live capture on a network device through the optional native addon `cap`
 * (libpcap), decoded into PacketSummary records on Kafka, plus a periodic CaptureHealth record.
 *
 * - `cap` emits one 'packet' event per frame and copies every frame into ONE shared Buffer, so
 *   each frame is decoded synchronously inside the event (decodeFrame copies the little it
 *   keeps); nothing awaits before the frame is consumed.
 * - Bounded memory: decoded summaries wait in a queue of at most `maxQueuedPackets`; a pump sends
 *   them in batches and awaits each acknowledgement. When Kafka is slower than the wire the queue
 *   fills and further frames are DROPPED and counted (reason queue-full): the capture callback
 *   never blocks and never buffers without bound.
 * - Timestamps: cap's event carries no pcap timestamp, so a frame is stamped when its event runs,
 *   on a wall clock anchored once (Date.now()) and advanced by the monotonic
 *   process.hrtime.bigint(): strictly ordered, immune to clock steps, late by the event-loop
 *   delay (microseconds when idle, more under load) and not corrected for later NTP slewing.
 * - Lengths: cap reports only the captured length; it opens the device with snaplen 65535, so
 *   the captured length IS the wire length for every frame up to 65535 bytes (offloads off, see
 *   docs/lab.md). The configured snaplen is applied here: cap_len = min(wire, snaplen).
 * - Statistics: cap 0.2.1 does not expose pcap_stats, so kernel drops (ps_drop) are reported as
 *   null; interface drops come from sysfs rx_dropped (what libpcap reports as ps_ifdrop on Linux).
 * - Privileges: with `user` set and running as root, the process switches to that user (and its
 *   group) right after opening the device, like `tcpdump -Z`; the open socket keeps capturing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type DecodeOptions } from '../../lib/decode';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError, errorMessage } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';
import { CAPTURE_HEALTH_SCHEMA, type CaptureHealth } from '../../schemas/capture-health';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import type { PcapLiveConfig } from './config';

const STAGE = 'pcap-live';

// ---------------------------------------------------------------------------------------------
// The capture device (cap addon), behind a small interface so the queueing logic is testable.

export interface OpenCaptureOptions { device: string; filter: string; bufferSize: number }

export interface LiveCapture {
  /** LINKTYPE_* of the device */
  readonly linkType: number;
  /** `frame` is valid only during the call (it is a view of a shared buffer). */
  onPacket(cb: (frame: Buffer, truncated: boolean) => void): void;
  close(): void;
}

export type CaptureOpener = (o: OpenCaptureOptions) => LiveCapture;

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
}
interface CapModule { Cap: new () => CapInstance }

/** cap's link type names -> LINKTYPE_* numbers the decoder knows. */
const CAP_LINKTYPES: Record<string, number> = { ETHERNET: 1, NULL: 0, RAW: 101, LINKTYPE_LINUX_SLL: 113 };

/** cap opens every device with snaplen 65535: the largest frame it can hand over. */
export const CAP_SNAPLEN = 65535;

const loaded = new Map<string, CapModule>();

/** Loads the native addon lazily; a missing or unbuildable addon is a PCAP_UNSUPPORTED error. */
export function loadCapAddon(moduleName = 'cap'): CapModule {
  const have = loaded.get(moduleName);
  if (have) return have;
  let m: CapModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    m = require(moduleName) as CapModule;
  } catch (e) {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE,
      `live capture needs the optional native addon "${moduleName}" (libpcap), which cannot be loaded here: ${errorMessage(e).split('\n')[0]}; ` +
      'install libpcap-dev and rebuild: npm rebuild cap', { cause: e });
  }
  if (typeof m?.Cap !== 'function') {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, `"${moduleName}" is not the cap addon; install libpcap-dev and rebuild: npm rebuild cap`);
  }
  loaded.set(moduleName, m);
  return m;
}

/** Opens a device with the cap addon (libpcap: promiscuous, immediate mode, snaplen 65535). */
export function openCapDevice(o: OpenCaptureOptions): LiveCapture {
  const { Cap } = loadCapAddon();
  const cap = new Cap();
  const buffer = Buffer.alloc(CAP_SNAPLEN);
  let name: string;
  try {
    name = cap.open(o.device, o.filter, o.bufferSize, buffer);
  } catch (e) {
    const msg = errorMessage(e);
    const hint = /permitted|permission/i.test(msg)
      ? ' (capturing needs root, or CAP_NET_RAW and CAP_NET_ADMIN: setcap cap_net_raw,cap_net_admin=eip "$(command -v node)")'
      : /no such device/i.test(msg) ? ' (is the interface up? `ip link`; for the lab: tapline lab up)' : '';
    throw new TaplineError('IO', STAGE, `cannot capture on ${o.device}${o.filter ? ` with filter "${o.filter}"` : ''}: ${msg}${hint}`, { cause: e });
  }
  const linkType = CAP_LINKTYPES[name];
  if (linkType === undefined) {
    cap.close();
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, `${o.device}: link type ${name} is not supported by the decoder`);
  }
  let closed = false;
  return {
    linkType,
    onPacket(cb) {
      cap.on('packet', (nbytes: number, truncated: boolean) => cb(buffer.subarray(0, nbytes), truncated));
    },
    close() {
      if (closed) return;
      closed = true;
      cap.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers: clock, interface counters, privilege drop.

/** Wall clock in ns, anchored once and advanced monotonically (see the header comment). */
export function anchoredClock(): () => bigint {
  const wall0 = BigInt(Date.now()) * 1_000_000n;
  const mono0 = process.hrtime.bigint();
  return () => wall0 + (process.hrtime.bigint() - mono0);
}

export interface InterfaceCounters { rxDropped: bigint; packets: bigint }

/** Linux sysfs counters of an interface, or null when unreadable (other OS, interface gone). */
export function readInterfaceCounters(iface: string): InterfaceCounters | null {
  if (!/^[\w.:@-]+$/.test(iface)) return null;
  const dir = `/sys/class/net/${iface}/statistics`;
  try {
    const n = (f: string) => BigInt(fs.readFileSync(`${dir}/${f}`, 'utf8').trim());
    return { rxDropped: n('rx_dropped'), packets: n('rx_packets') + n('tx_packets') };
  } catch {
    return null;
  }
}

export interface DroppedPrivileges { uid: number; gid: number; user: string }

/**
 * As `tcpdump -Z user`: when running as root, switch to `user` with its groups (or `group`).
 * Returns null when not root (nothing to drop). Throws CONFIG_INVALID for an unknown user.
 */
/** process.initgroups exists on POSIX Node but is missing from @types/node 20. */
type PosixProcess = NodeJS.Process & { initgroups?: (user: string | number, extraGroup: string | number) => void };

export function dropPrivileges(user: string, group?: string): DroppedPrivileges | null {
  const proc = process as PosixProcess;
  if (typeof process.getuid !== 'function' || !process.setuid || !process.setgid || !proc.initgroups) {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, 'dropping privileges (user:) is not supported on this platform');
  }
  if (process.getuid() !== 0 && process.geteuid?.() !== 0) return null;
  let gid: number;
  try {
    gid = group
      ? Number(execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[2])
      : Number(execFileSync('id', ['-g', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    execFileSync('id', ['-u', '--', user], { stdio: 'ignore' });
  } catch (e) {
    throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: unknown ${group ? `group "${group}" or ` : ''}user "${user}"`, { cause: e });
  }
  if (!Number.isInteger(gid)) throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: no group id for "${group ?? user}"`);
  try {
    proc.initgroups!(user, gid);
    process.setgid(gid);
    process.setuid(user);
  } catch (e) {
    throw new TaplineError('INTERNAL', STAGE, `dropping privileges to ${user} failed: ${errorMessage(e)}`, { cause: e });
  }
  const uid = process.getuid();
  if (uid === 0) throw new TaplineError('INTERNAL', STAGE, `still root after switching to ${user}`);
  return { uid, gid: process.getgid!(), user };
}

// ---------------------------------------------------------------------------------------------

export interface PcapLiveDeps {
  /** how to open the device (default: the cap addon) */
  openCapture?: CaptureOpener;
  /** ns timestamps (default: anchoredClock()) */
  clock?: () => bigint;
  /** interface counters (default: Linux sysfs) */
  interfaceCounters?: (iface: string) => InterfaceCounters | null;
}

export interface PcapLiveStats {
  seen: number;
  bytes: number;
  truncated: number;
  queued: number;
  published: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  malformed: number;
}

export class PcapLiveConnector implements Connector {
  readonly type = 'pcap-live';
  readonly metrics = new ComponentMetrics('pcap-live');
  readonly decodeStats = new DecodeStats();
  private readonly log = logger(STAGE);
  private readonly healthCodec = new AvroCodec<CaptureHealth>(CAPTURE_HEALTH_SCHEMA);
  private readonly clock: () => bigint;
  private readonly openCapture: CaptureOpener;
  private readonly ifCounters: (iface: string) => InterfaceCounters | null;

  private producer: TaplineProducer | null = null;
  private capture: LiveCapture | null = null;
  private publisher: PacketPublisher | null = null;
  private decodeOpts: DecodeOptions | null = null;
  private linkType = 1;
  private ifBase: InterfaceCounters | null = null;
  private startedNs = 0n;
  private started: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private pumpDone: Promise<void> | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private healthInFlight: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private finished!: (s: ConnectorSummary) => void;
  private readonly summaryPromise: Promise<ConnectorSummary>;

  private queue: PacketSummary[] = [];
  private seen = 0;
  private bytes = 0;
  private truncated = 0;
  private dropped = 0;
  private readonly droppedByReason = new Map<string, number>();
  private unreportedReceived = 0;
  private firstTsNs: bigint | null = null;
  private lastTsNs: bigint | null = null;
  /** privileges dropped after opening (null: none configured or not root) */
  privileges: DroppedPrivileges | null = null;

  constructor(private readonly cfg: PcapLiveConfig, private readonly kafka: KafkaClient, deps: PcapLiveDeps = {}) {
    this.clock = deps.clock ?? anchoredClock();
    this.openCapture = deps.openCapture ?? openCapDevice;
    this.ifCounters = deps.interfaceCounters ?? readInterfaceCounters;
    this.summaryPromise = new Promise((resolve) => { this.finished = resolve; });
  }

  get observationPoint(): string {
    return this.cfg.observationPoint ?? `live:${os.hostname()}:${this.cfg.interface}`;
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    if (!this.cfg.promiscuous) {
      throw new TaplineError('CONFIG_INVALID', STAGE, 'promiscuous: false cannot be honoured: the cap addon always opens the device in promiscuous mode');
    }
    // Before touching Kafka: a missing addon is the most likely failure and the quickest to report.
    if (this.openCapture === openCapDevice) loadCapAddon();
    this.producer = this.kafka.producer({ idempotent: true });
    try {
      await this.producer.connect();
      await this.kafka.ensureTopics([{ topic: this.cfg.healthTopic, partitions: 1 }]);
      // The publisher never flushes by itself: the pump below decides when, and awaits it.
      this.publisher = new PacketPublisher(this.producer, this.cfg.topic, this.metrics, Number.MAX_SAFE_INTEGER);
      this.decodeOpts = {
        observationPoint: this.observationPoint,
        payloadPrefix: this.cfg.payloadPrefixBytes === undefined ? defaultPayloadPrefix : ((n) => () => n)(this.cfg.payloadPrefixBytes),
      };
      this.ifBase = this.ifCounters(this.cfg.interface);
      this.capture = this.openCapture({ device: this.cfg.interface, filter: this.cfg.filter, bufferSize: this.cfg.bufferSize });
    } catch (e) {
      await this.producer.close().catch(() => undefined);
      throw e;
    }
    this.linkType = this.capture.linkType;
    this.startedNs = this.clock();
    this.capture.onPacket((frame, truncated) => this.onFrame(frame, truncated));
    if (this.cfg.user) {
      try {
        this.privileges = dropPrivileges(this.cfg.user, this.cfg.group);
      } catch (e) {
        this.capture.close();
        await this.producer.close().catch(() => undefined);
        throw e;
      }
      if (this.privileges) this.log.info({ ...this.privileges }, 'dropped privileges after opening the device');
      else this.log.warn({ user: this.cfg.user }, 'not running as root: no privileges to drop');
    }
    this.pumpDone = this.pump();
    this.healthTimer = setInterval(() => this.sendHealth(false), this.cfg.healthIntervalMs);
    this.healthTimer.unref();
    this.log.info({ interface: this.cfg.interface, filter: this.cfg.filter, linkType: this.linkType, observationPoint: this.observationPoint }, 'live capture started');
  }

  /**
   * One frame, synchronously, inside cap's event: `frame` is a view of cap's shared buffer and is
   * overwritten by the next packet, so it is decoded (or dropped) before returning.
   */
  private onFrame(frame: Buffer, capTruncated: boolean): void {
    const ts = this.clock();
    const wireLen = frame.length;
    this.seen++;
    this.unreportedReceived++;
    this.bytes += wireLen;
    this.firstTsNs ??= ts;
    this.lastTsNs = ts;
    if (this.stopping) { this.drop('closing'); return; }
    if (this.queue.length >= this.cfg.maxQueuedPackets) { this.drop('queue-full'); return; }
    const capLen = wireLen < this.cfg.snaplen ? wireLen : this.cfg.snaplen;
    if (capTruncated || capLen < wireLen) this.truncated++;
    try {
      const p = decodeFrame({ linkType: this.linkType, data: capLen < wireLen ? frame.subarray(0, capLen) : frame, ts_ns: ts, wireLen, capLen },
        this.decodeOpts!, this.decodeStats);
      this.queue.push(p);
    } catch (e) {
      // decodeFrame never throws by contract; keep the capture alive all the same
      this.drop('internal-error');
      this.log.error({ err: errorMessage(e) }, 'frame handling failed');
      return;
    }
    if (this.queue.length >= this.cfg.batchSize && this.wake) this.wake();
  }

  private drop(reason: string): void {
    this.dropped++;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + 1);
    this.metrics.dropped(reason);
  }

  /** Sends the queue to Kafka in batches, one at a time, until closing and drained. */
  private async pump(): Promise<void> {
    const { batchSize, flushIntervalMs } = this.cfg;
    for (;;) {
      if (this.queue.length < batchSize && !this.stopping) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, flushIntervalMs);
          const self = this;
          function done(): void { clearTimeout(t); self.wake = null; resolve(); }
          this.wake = done;
        });
      }
      this.reportReceived();
      if (this.queue.length === 0) {
        if (this.stopping) return;
        continue;
      }
      const batch = this.queue.length <= batchSize ? this.queue : this.queue.slice(0, batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batchSize);
      try {
        for (const p of batch) void this.publisher!.add(p);
        await this.publisher!.flush();
        if (batch.length) this.metrics.streamTime(BigInt(batch[batch.length - 1].ts_ns));
      } catch (e) {
        for (let i = 0; i < batch.length; i++) this.drop('send-failed');
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.error({ err: errorMessage(e), packets: batch.length }, 'a batch of packet summaries could not be sent; dropped');
      }
    }
  }

  private reportReceived(): void {
    if (this.unreportedReceived > 0) {
      this.metrics.received(this.unreportedReceived);
      this.unreportedReceived = 0;
    }
  }

  /** Counters so far (also for tests). */
  stats(): PcapLiveStats {
    return {
      seen: this.seen, bytes: this.bytes, truncated: this.truncated, queued: this.queue.length,
      published: this.metrics.totals.sent, dropped: this.dropped, droppedByReason: Object.fromEntries(this.droppedByReason),
      malformed: this.decodeStats.malformedTotal,
    };
  }

  healthRecord(final: boolean): CaptureHealth {
    const now = this.ifBase ? this.ifCounters(this.cfg.interface) : null;
    return {
      ts_ns: this.clock(),
      started_ns: this.startedNs,
      connector: this.type,
      host: os.hostname(),
      interface: this.cfg.interface,
      observation_point: this.observationPoint,
      filter: this.cfg.filter,
      link_type: this.linkType,
      snaplen: this.cfg.snaplen,
      final,
      packets_seen: this.seen,
      bytes_seen: this.bytes,
      packets_truncated: this.truncated,
      packets_published: this.metrics.totals.sent,
      pipeline_drops: this.dropped,
      pipeline_drops_by_reason: Object.fromEntries(this.droppedByReason),
      kernel_drops: null, // cap 0.2.1 exposes no pcap_stats (see the header comment)
      interface_drops: now && this.ifBase ? now.rxDropped - this.ifBase.rxDropped : null,
      interface_packets: now && this.ifBase ? now.packets - this.ifBase.packets : null,
      malformed: this.decodeStats.malformedTotal,
      malformed_by_code: Object.fromEntries(this.decodeStats.byCode),
      queue_depth: this.queue.length,
      queue_capacity: this.cfg.maxQueuedPackets,
    };
  }

  /** Publishes one health record; skipped while the previous one is still in flight. */
  private sendHealth(final: boolean): Promise<void> {
    if (this.healthInFlight && !final) return this.healthInFlight;
    const rec = this.healthRecord(final);
    const send = (async () => {
      try {
        await this.producer!.send(this.cfg.healthTopic, [{ key: this.observationPoint, value: this.healthCodec.encode(rec) }]);
      } catch (e) {
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.warn({ err: errorMessage(e) }, 'capture health record not sent');
      }
    })();
    const tracked = send.finally(() => { if (this.healthInFlight === tracked) this.healthInFlight = null; });
    this.healthInFlight = tracked;
    (final ? this.log.info : this.log.debug).call(this.log, { ...this.stats(), interfaceDrops: String(rec.interface_drops) }, 'capture health');
    return tracked;
  }

  done(): Promise<ConnectorSummary> {
    if (!this.started) return Promise.reject(new Error('pcap-live: done() before start()'));
    return this.started.then(() => this.summaryPromise);
  }

  /**
   * Stops capturing, sends what is queued (waiting up to drainTimeoutMs; what is left then is
   * dropped as close-timeout), publishes a final health record and closes the producer.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.started?.catch(() => undefined);
    if (!this.capture) return;
    this.capture.close();
    this.stopping = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.pumpDone!.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), this.cfg.drainTimeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const left = this.queue.length;
      this.queue = [];
      for (let i = 0; i < left; i++) this.drop('close-timeout');
      this.log.warn({ left, timeoutMs: this.cfg.drainTimeoutMs }, 'Kafka did not take the queued summaries in time; dropped');
    }
    this.reportReceived();
    await this.healthInFlight?.catch(() => undefined);
    if (!timedOut) await this.sendHealth(true);
    await this.producer?.close().catch(() => undefined);
    this.finished({
      packets: this.seen, bytes: this.bytes, malformed: this.decodeStats.malformedTotal, firstTsNs: this.firstTsNs, lastTsNs: this.lastTsNs,
    });
  }
}
