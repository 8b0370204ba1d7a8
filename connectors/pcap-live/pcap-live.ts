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
 *
 * The parts: capture-supervisor.ts keeps the device open (reopening it after a failure),
 * packet-pump.ts holds the bounded queue and sends it in batches, health-reporter.ts publishes
 * the CaptureHealth records, capture-counters.ts counts what was seen and what was lost. This
 * file decodes each frame inside its event and runs the connector's lifecycle.
 */
import os from 'node:os';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type DecodeOptions } from '../../lib/decode';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError, errorMessage } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import type { CaptureHealth } from '../../schemas/capture-health';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import type { PcapLiveConfig } from './config';
import { loadCapAddon, openCapDevice, type CaptureOpener } from './device';
import { openCapChild } from './capture-child';
import { anchoredClock, dropPrivileges, readInterfaceCounters, type DroppedPrivileges, type InterfaceCounters } from './host';
import { CaptureCounters } from './capture-counters';
import { CaptureSupervisor } from './capture-supervisor';
import { HealthReporter } from './health-reporter';
import { PacketPump } from './packet-pump';

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
  private readonly counters = new CaptureCounters(this.metrics);
  private readonly clock: () => bigint;
  private readonly openCapture: CaptureOpener;
  private readonly ifCounters: (iface: string) => InterfaceCounters | null;
  private readonly supervisor: CaptureSupervisor;

  private producer: TaplineProducer | null = null;
  /** made in start(), once Kafka is connected: before it nothing is queued */
  private pump: PacketPump | null = null;
  private health: HealthReporter | null = null;
  private decodeOpts: DecodeOptions | null = null;
  private ifBase: InterfaceCounters | null = null;
  private startedNs = 0n;
  private started: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private finished!: (s: ConnectorSummary) => void;
  private readonly summaryPromise: Promise<ConnectorSummary>;
  /** privileges dropped after opening (null: none configured or not root) */
  privileges: DroppedPrivileges | null = null;

  constructor(private readonly cfg: PcapLiveConfig, private readonly kafka: KafkaClient, deps: PcapLiveDeps = {}) {
    this.clock = deps.clock ?? anchoredClock();
    this.openCapture = deps.openCapture ?? (cfg.isolate ? openCapChild : openCapDevice);
    this.ifCounters = deps.interfaceCounters ?? readInterfaceCounters;
    this.supervisor = new CaptureSupervisor(cfg, this.openCapture, {
      frame: (frame, truncated, ts) => this.onFrame(frame, truncated, ts),
      lost: (reason, n) => this.counters.lostBeforeHandover(reason, n),
      changed: () => void this.health?.send(false),
    }, this.metrics, this.log);
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
    const producer = this.producer = this.kafka.producer({ idempotent: true });
    this.health = new HealthReporter(producer, this.cfg.healthTopic, this, this.metrics, this.log);
    try {
      await producer.connect();
      await this.kafka.ensureTopics([{ topic: this.cfg.healthTopic, partitions: 1 }]);
      // The publisher never flushes by itself: the pump decides when, and awaits it.
      const publisher = new PacketPublisher(producer, this.cfg.topic, this.metrics, Number.MAX_SAFE_INTEGER);
      this.pump = new PacketPump(publisher, this.cfg, this.counters, this.metrics, this.log);
      this.decodeOpts = {
        observationPoint: this.observationPoint,
        payloadPrefix: this.cfg.payloadPrefixBytes === undefined ? defaultPayloadPrefix : ((n) => () => n)(this.cfg.payloadPrefixBytes),
      };
      this.ifBase = this.ifCounters(this.cfg.interface);
      await this.supervisor.open();
    } catch (e) {
      await producer.close().catch(() => undefined);
      throw e;
    }
    this.startedNs = this.clock();
    if (this.cfg.user) {
      try {
        this.privileges = dropPrivileges(this.cfg.user, this.cfg.group);
      } catch (e) {
        await this.supervisor.close();
        await producer.close().catch(() => undefined);
        throw e;
      }
      if (this.privileges) this.log.info({ ...this.privileges }, 'dropped privileges after opening the device');
      else this.log.warn({ user: this.cfg.user }, 'not running as root: no privileges to drop');
    }
    this.pump!.start();
    this.health.startPeriodic(this.cfg.healthIntervalMs);
    this.log.info({ interface: this.cfg.interface, filter: this.cfg.filter, linkType: this.supervisor.linkType, observationPoint: this.observationPoint }, 'live capture started');
  }

  /**
   * One frame, synchronously, inside the capture's event: `frame` is a view of a shared buffer
   * that is overwritten by the next packet, so it is decoded (or dropped) before returning.
   */
  private onFrame(frame: Buffer, capTruncated: boolean, tsNs?: bigint): void {
    const ts = tsNs ?? this.clock();
    const wireLen = frame.length;
    this.counters.frame(wireLen, ts);
    const pump = this.pump!;
    if (pump.full) { this.counters.drop('queue-full'); return; }
    const capLen = wireLen < this.cfg.snaplen ? wireLen : this.cfg.snaplen;
    if (capTruncated || capLen < wireLen) this.counters.truncated++;
    try {
      pump.push(decodeFrame({ linkType: this.supervisor.linkType, data: capLen < wireLen ? frame.subarray(0, capLen) : frame, ts_ns: ts, wireLen, capLen },
        this.decodeOpts!, this.decodeStats));
    } catch (e) {
      // decodeFrame never throws by contract; keep the capture alive all the same
      this.counters.drop('internal-error');
      this.log.error({ err: errorMessage(e) }, 'frame handling failed');
    }
  }

  /** Counters so far (also for tests). */
  stats(): PcapLiveStats {
    const c = this.counters;
    return {
      seen: c.seen, bytes: c.bytes, truncated: c.truncated, queued: this.pump?.depth ?? 0,
      published: this.metrics.totals.sent, dropped: c.dropped, droppedByReason: Object.fromEntries(c.droppedByReason),
      malformed: this.decodeStats.malformedTotal,
    };
  }

  healthRecord(final: boolean): CaptureHealth {
    const now = this.ifBase ? this.ifCounters(this.cfg.interface) : null;
    const c = this.counters;
    return {
      ts_ns: this.clock(),
      started_ns: this.startedNs,
      connector: this.type,
      host: os.hostname(),
      interface: this.cfg.interface,
      observation_point: this.observationPoint,
      filter: this.cfg.filter,
      link_type: this.supervisor.linkType,
      snaplen: this.cfg.snaplen,
      final,
      packets_seen: c.seen,
      bytes_seen: c.bytes,
      packets_truncated: c.truncated,
      packets_published: this.metrics.totals.sent,
      pipeline_drops: c.dropped,
      pipeline_drops_by_reason: Object.fromEntries(c.droppedByReason),
      kernel_drops: null, // cap 0.2.1 exposes no pcap_stats (see the header comment)
      interface_drops: now && this.ifBase ? now.rxDropped - this.ifBase.rxDropped : null,
      interface_packets: now && this.ifBase ? now.packets - this.ifBase.packets : null,
      malformed: this.decodeStats.malformedTotal,
      malformed_by_code: Object.fromEntries(this.decodeStats.byCode),
      queue_depth: this.pump?.depth ?? 0,
      queue_capacity: this.cfg.maxQueuedPackets,
      capturing: this.supervisor.capturing,
      capture_restarts: this.supervisor.restarts,
      last_error: this.supervisor.lastError,
    };
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
    if (!this.pump?.running) return; // never started
    this.supervisor.stop();
    // The helper hands over what it still holds before it exits. Only then may the queue loop
    // stop: a loop told to stop ends at the first empty queue, and frames handed over after that
    // would be neither sent nor counted.
    await this.supervisor.close();
    this.pump.stop();
    this.health!.stopPeriodic();
    const timedOut = await this.pump.drain(this.cfg.drainTimeoutMs);
    this.counters.reportReceived();
    await this.health!.settled();
    if (!timedOut) await this.health!.send(true);
    await this.producer?.close().catch(() => undefined);
    const c = this.counters;
    this.finished({
      packets: c.seen, bytes: c.bytes, malformed: this.decodeStats.malformedTotal, firstTsNs: c.firstTsNs, lastTsNs: c.lastTsNs,
    });
  }
}
