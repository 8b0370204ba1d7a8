/**
 * The lifecycle every UDP receiver source (mirror, sflow) shares, so each connector only says
 * how a datagram becomes records. A socket cannot be paused the way a file reader can, so the
 * lifecycle is built around not losing track of what is dropped:
 * - start(): opens the sinks (the connector's Kafka publishers, or ones given by a test), binds
 *   the socket (a busy port is an IO error), then every `flushIntervalMs` sends partial batches
 *   and polls the kernel's drop counter for the socket.
 * - while `maxInflightBatches` sends wait for Kafka, admit() refuses and counts
 *   dropped('backpressure'), so memory stays bounded however slow Kafka is; datagrams the
 *   kernel dropped because the socket buffer was full are counted as dropped('socket-buffer').
 * - close(): safe twice; stops receiving, flushes every sink, waits for outstanding sends, then
 *   done() resolves with what was published (a live source never ends by itself).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import { logger, type Logger } from '../../lib/log';
import { ComponentMetrics } from '../../lib/metrics';
import type { PacketSummary } from '../../schemas/types';
import type { Connector, ConnectorSummary } from '../types';
import { SendTracker } from './backpressure';
import { HrWallClock } from './clock';
import { DropPoller } from './socket-drops';

/** What a source flushes on every tick and at close. */
export interface Flushable {
  flush(): Promise<void>;
}

/** Where records go: a publisher, or anything with the same add/flush contract (tests, embedding). */
export interface RecordSink<T> extends Flushable {
  /** A promise when a batch send started (tracked for backpressure), null when only queued. */
  add(record: T): Promise<void> | null;
}

/** A PacketPublisher, or a stand-in for it. */
export type PacketSink = RecordSink<PacketSummary>;

/** The config keys the lifecycle reads (each connector's schema has them, with its own defaults). */
export interface UdpSourceConfig {
  host: string;
  port: number;
  flushIntervalMs: number;
  maxInflightBatches: number;
  receiveBufferBytes?: number;
}

/** The counters the lifecycle maintains in the connector's stats. */
export interface UdpSourceStats {
  droppedBackpressure: number;
  /** datagrams the kernel dropped because the socket buffer was full (from /proc/net/udp) */
  droppedSocketBuffer: number;
}

/** Drops are read from /proc, so at most this often unless forced (close, tests). */
const DROP_POLL_MS = 1000;

export abstract class UdpSourceConnector<C extends UdpSourceConfig, S extends UdpSourceStats> implements Connector {
  readonly metrics: ComponentMetrics;
  /** the connector's counters; the subclass defines them, this class keeps the UdpSourceStats ones */
  abstract readonly stats: S;
  protected readonly log: Logger;
  /** what done() reports; the subclass counts published packets with countPacket() */
  protected readonly summary: ConnectorSummary = { packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null };
  private readonly clock = new HrWallClock();
  private producer: TaplineProducer | null = null;
  private sinks: Flushable[] = [];
  private tracker: SendTracker | null = null;
  private socket: dgram.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private drops: DropPoller | null = null;
  private lastDropPoll = 0;
  private boundPort = 0;
  private finished: Promise<ConnectorSummary> | null = null;
  private finish: ((s: ConnectorSummary) => void) | null = null;
  private closing: Promise<void> | null = null;

  /** `type` names the metrics component, the logger and the source of errors. */
  constructor(readonly type: string, protected readonly cfg: C, protected readonly kafka: KafkaClient | null) {
    this.metrics = new ComponentMetrics(type);
    this.log = logger(type);
  }

  /** The sinks records go to, created on start() (connecting the producer when needed). */
  protected abstract openSinks(): Promise<Flushable[]>;

  /** One received datagram; `tsNs` is its receive time. */
  abstract handleDatagram(msg: Buffer, sender: string, tsNs: bigint): void;

  /** Called once the socket is bound (port known), before the first datagram: log, derive per-port state. */
  protected abstract listening(): void;

  /** Logs what the source did; called by close() before done() resolves. */
  protected abstract logClosed(): void;

  /** The bound UDP port (meaningful after start(); the configured one may be 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.socket || this.closing) return;
    this.sinks = await this.openSinks();
    // close() while the sinks were opening (e.g. a slow Kafka connect): do not start receiving
    if (this.closing) { await this.producer?.close().catch(() => undefined); return; }
    this.tracker = new SendTracker(this.cfg.maxInflightBatches, this.metrics, this.log);
    // no SO_REUSEADDR: a second receiver on a taken port must fail loudly, not get a share of the datagrams
    const sock = dgram.createSocket({ type: net.isIPv6(this.cfg.host) ? 'udp6' : 'udp4', reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(this.cfg.port, this.cfg.host, () => { sock.off('error', reject); resolve(); });
      });
    } catch (e) {
      sock.close();
      await this.producer?.close().catch(() => undefined);
      throw new TaplineError('IO', this.type, `cannot listen on udp ${this.cfg.host}:${this.cfg.port}: ${(e as Error).message}`, { cause: e });
    }
    if (this.closing) { sock.close(); await this.producer?.close().catch(() => undefined); return; }
    if (this.cfg.receiveBufferBytes) {
      try { sock.setRecvBufferSize(this.cfg.receiveBufferBytes); } catch (e) { this.log.warn({ err: (e as Error).message }, 'cannot set SO_RCVBUF'); }
    }
    this.boundPort = sock.address().port;
    this.drops = new DropPoller(this.cfg.host, this.boundPort);
    this.listening();
    sock.on('message', (msg, rinfo) => this.handleDatagram(msg, rinfo.address, this.clock.now()));
    sock.on('error', (e) => { this.metrics.error('IO'); this.log.error({ err: e.message }, `${this.type} socket error`); });
    this.socket = sock;
    this.timer = setInterval(() => {
      this.pollSocketDrops();
      if (!this.tracker!.busy) this.flushSinks();
    }, this.cfg.flushIntervalMs);
    this.finished = new Promise((resolve) => { this.finish = resolve; });
  }

  /** Connects this source's own producer (closed again by a failed start() and by close()). */
  protected async connectProducer(missing: string): Promise<TaplineProducer> {
    if (!this.kafka) throw new TaplineError('CONFIG_INVALID', this.type, missing);
    this.producer = this.kafka.producer({ idempotent: true });
    await this.producer.connect();
    return this.producer;
  }

  /** True when a record may be sent; false (counted as dropped/backpressure) while Kafka is behind. */
  protected admit(): boolean {
    if (!this.tracker!.busy) return true;
    this.stats.droppedBackpressure++;
    this.metrics.dropped('backpressure');
    return false;
  }

  /** Tracks what a sink's add() started, so admit() and close() know about it. */
  protected track(send: Promise<void> | null): void {
    this.tracker!.track(send);
  }

  /** Adds a published packet to what done() reports. */
  protected countPacket(p: PacketSummary, bytes: number, tsNs: bigint): void {
    const s = this.summary;
    if (p.malformed) s.malformed++;
    s.packets++;
    s.bytes += bytes;
    s.firstTsNs ??= tsNs;
    s.lastTsNs = tsNs;
  }

  private flushSinks(): void {
    for (const sink of this.sinks) this.tracker!.track(sink.flush());
  }

  /** Counts what the kernel dropped for our socket since the last poll (at most once a second unless forced). */
  pollSocketDrops(force = false): void {
    const now = Date.now();
    if (!this.drops || (!force && now - this.lastDropPoll < DROP_POLL_MS)) return;
    this.lastDropPoll = now;
    const n = this.drops.poll();
    if (n > 0) {
      this.stats.droppedSocketBuffer += n;
      this.metrics.dropped('socket-buffer', n);
    }
  }

  /** A live source never ends by itself: resolves after close() with what was published. */
  done(): Promise<ConnectorSummary> {
    if (!this.finished) return Promise.reject(new Error(`${this.type}: done() before start()`));
    return this.finished;
  }

  /** Stops receiving, sends what is queued, waits for outstanding sends. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // the last poll counts what overflowed just before the socket goes (its /proc row goes too)
    this.pollSocketDrops(true);
    const sock = this.socket;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
    if (this.tracker) {
      this.flushSinks();
      await this.tracker.drain();
    }
    await this.producer?.close().catch(() => undefined);
    this.logClosed();
    this.finish?.(this.summary);
  }
}
