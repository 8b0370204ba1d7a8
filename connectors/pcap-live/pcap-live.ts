/**
 * pcap-live source: live capture on a network device through the optional native addon `cap`
 * (libpcap), decoded into PacketSummary records on Kafka, plus a periodic CaptureHealth record.
 *
 * - Isolation (default): the device is opened in a small helper process (openCapChild) that only
 *   captures, stamps and forwards frames over a pipe. cap 0.2.1 aborts the process holding a
 *   device that goes down or away; here only the helper dies, and tapline reports it and reopens
 *   the device with a growing delay. `isolate: false` captures in-process (openCapDevice).
 * - `cap` emits one 'packet' event per frame and copies every frame into ONE shared Buffer, so
 *   each frame is consumed synchronously inside the event: copied into the pipe chunk by the
 *   helper, or decoded (decodeFrame copies the little it keeps) in-process. Frames from the pipe
 *   are decoded as they are parsed, also without any await in between.
 * - Bounded memory: decoded summaries wait in a queue of at most `maxQueuedPackets`; a pump sends
 *   them in batches and awaits each acknowledgement. When Kafka is slower than the wire the queue
 *   fills and further frames are DROPPED and counted (queue-full); when tapline is slower than
 *   its helper, the helper drops once `maxPipeBytes` wait in the pipe (pipe-full). Neither the
 *   capture callback nor the helper ever blocks, and nothing buffers without bound.
 * - Timestamps: cap's event carries no pcap timestamp, so a frame is stamped when its event runs
 *   (in the helper when isolated), on a wall clock anchored once (Date.now()) and advanced by the
 *   monotonic process.hrtime.bigint(): strictly ordered, immune to clock steps, late by the
 *   event-loop delay (microseconds when idle, more under load), not following later NTP slewing.
 * - Lengths: cap reports only the captured length; it opens the device with snaplen 65535, so
 *   the captured length IS the wire length for every frame up to 65535 bytes (offloads off, see
 *   docs/lab.md). The configured snaplen is applied here: cap_len = min(wire, snaplen).
 * - Statistics: cap 0.2.1 does not expose pcap_stats, so kernel drops (ps_drop) are reported as
 *   null; interface drops come from sysfs rx_dropped (what libpcap reports as ps_ifdrop on Linux).
 * - Privileges: with `user` set and running as root, the process that opened the device (the
 *   helper, and tapline itself after it) switches to that user and its group right after the
 *   open, like `tcpdump -Z`; the open socket keeps capturing. A reopen after the device went
 *   away then needs privileges the processes no longer have: it keeps failing, and says so.
 */
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
import { loadCapAddon, openCapDevice, type CaptureOpener, type LiveCapture } from './device';
import { openCapChild } from './capture-child';
import { anchoredClock, dropPrivileges, readInterfaceCounters, type DroppedPrivileges, type InterfaceCounters } from './host';

const STAGE = 'pcap-live';

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
  private restarts = 0;
  private lastError: string | null = null;
  private reopenTimer: NodeJS.Timeout | null = null;
  /** privileges dropped after opening (null: none configured or not root) */
  privileges: DroppedPrivileges | null = null;

  constructor(private readonly cfg: PcapLiveConfig, private readonly kafka: KafkaClient, deps: PcapLiveDeps = {}) {
    this.clock = deps.clock ?? anchoredClock();
    this.openCapture = deps.openCapture ?? (cfg.isolate ? openCapChild : openCapDevice);
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
    if (this.openCapture === openCapDevice || this.openCapture === openCapChild) loadCapAddon();
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
      await this.openDevice();
    } catch (e) {
      await this.producer.close().catch(() => undefined);
      throw e;
    }
    this.startedNs = this.clock();
    if (this.cfg.user) {
      try {
        this.privileges = dropPrivileges(this.cfg.user, this.cfg.group);
      } catch (e) {
        await this.capture?.close();
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

  /** Opens the device (in the helper process by default) and wires its callbacks. */
  private async openDevice(): Promise<void> {
    const cap = await this.openCapture({
      device: this.cfg.interface, filter: this.cfg.filter, bufferSize: this.cfg.bufferSize,
      // the helper process drops its own privileges right after opening
      ...(this.cfg.isolate && this.cfg.user ? { user: this.cfg.user, group: this.cfg.group } : {}),
    });
    this.capture = cap;
    this.linkType = cap.linkType;
    cap.onPacket((frame, truncated, ts) => this.onFrame(frame, truncated, ts));
    cap.onDrops?.((reason, n) => {
      // frames the capture layer saw but could not hand over: seen, and dropped
      this.seen += n;
      this.unreportedReceived += n;
      this.drop(reason, n);
    });
    cap.onFailure?.((err) => this.onCaptureFailure(cap, err));
  }

  /**
   * The capture stopped by itself (the device went down or away, the helper died): report it and
   * reopen with a growing delay (1 s .. 30 s) until it works again or the connector closes.
   */
  private onCaptureFailure(cap: LiveCapture, err: Error): void {
    if (this.stopping || this.capture !== cap) return;
    this.capture = null;
    this.lastError = err.message;
    this.metrics.error(err instanceof TaplineError ? err.code : 'IO');
    this.log.error({ err: err.message, interface: this.cfg.interface }, 'live capture stopped; reopening');
    let delay = 1000;
    const retry = (): void => {
      this.reopenTimer = null;
      if (this.stopping) return;
      this.openDevice().then(() => {
        this.restarts++;
        this.log.warn({ interface: this.cfg.interface, restarts: this.restarts }, 'live capture reopened');
        void this.sendHealth(false);
      }, (e: unknown) => {
        this.lastError = errorMessage(e);
        this.log.warn({ err: this.lastError, retryMs: delay }, 'cannot reopen the capture yet');
        delay = Math.min(delay * 2, 30_000);
        this.reopenTimer = setTimeout(retry, delay);
      });
    };
    this.reopenTimer = setTimeout(retry, delay);
    void this.sendHealth(false);
  }

  /**
   * One frame, synchronously, inside the capture's event: `frame` is a view of a shared buffer
   * that is overwritten by the next packet, so it is decoded (or dropped) before returning.
   */
  private onFrame(frame: Buffer, capTruncated: boolean, tsNs?: bigint): void {
    const ts = tsNs ?? this.clock();
    const wireLen = frame.length;
    this.seen++;
    this.unreportedReceived++;
    this.bytes += wireLen;
    this.firstTsNs ??= ts;
    this.lastTsNs = ts;
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

  private drop(reason: string, n = 1): void {
    this.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
    this.metrics.dropped(reason, n);
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
        this.drop('send-failed', batch.length);
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
      capturing: this.capture !== null,
      capture_restarts: this.restarts,
      last_error: this.lastError,
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
    if (!this.pumpDone) return; // never started
    this.stopping = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    // the helper hands over what it still holds before it exits
    await this.capture?.close();
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
      this.drop('close-timeout', left);
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
