/**
 * mirror source: a UDP receiver for VXLAN / GENEVE traffic-mirroring streams, i.e. what the
 * target of AWS VPC Traffic Mirroring, Azure vTAP or a GENEVE gateway receives. Each datagram
 * is one mirrored frame behind a tunnel header: the header is parsed here, the inner frame goes
 * through decodeFrame, and the tunnel fields come from the datagram itself (VNI, the sender as
 * outer_src_ip, our address as outer_dst_ip). Timestamps are receive times.
 *
 * A socket cannot be paused: while `maxInflightBatches` batches wait for Kafka, arriving
 * datagrams are dropped and counted (metrics.dropped('backpressure')), so memory stays bounded.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type DecodeOptions } from '../../lib/decode';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import type { PacketSummary } from '../../schemas/types';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import type { MirrorConfig } from './config';
import { HrWallClock } from './clock';
import { SendTracker } from './backpressure';
import { DropPoller } from './socket-drops';
import { parseTunnel, type Encapsulation } from './tunnel';

/** Where summaries go: a PacketPublisher, or anything with the same add/flush contract (tests). */
export interface PacketSink {
  add(p: PacketSummary): Promise<void> | null;
  flush(): Promise<void>;
}

export interface MirrorStats {
  datagrams: number;
  /** datagrams whose tunnel header was unusable, by reason (nothing published for them) */
  malformed: Map<string, number>;
  /** inner frames published (including those the decoder marked malformed) */
  published: number;
  droppedBackpressure: number;
  /** datagrams the kernel dropped because the socket buffer was full (from /proc/net/udp) */
  droppedSocketBuffer: number;
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** The address outer_dst_ip reports: configured, bound, or the one non-loopback address of the family. */
export function localAddressFor(host: string, configured?: string): string | null {
  if (configured) return configured;
  if (host !== '0.0.0.0' && host !== '::') return plainAddress(host);
  const family = host === '::' ? null : 'IPv4';
  const addrs = Object.values(os.networkInterfaces()).flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i && !i.internal && (family === null || i.family === family) && !i.address.startsWith('fe80'));
  return addrs.length === 1 ? addrs[0].address : null;
}

export class MirrorConnector implements Connector {
  readonly type = 'mirror';
  readonly metrics: ComponentMetrics;
  readonly decodeStats = new DecodeStats();
  readonly stats: MirrorStats = { datagrams: 0, malformed: new Map(), published: 0, droppedBackpressure: 0, droppedSocketBuffer: 0 };
  private readonly log = logger('mirror');
  private readonly encapsulation: Encapsulation;
  private readonly clock = new HrWallClock();
  private socket: dgram.Socket | null = null;
  private producer: TaplineProducer | null = null;
  private sink: PacketSink | null;
  private tracker: SendTracker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private drops: DropPoller | null = null;
  private lastDropPoll = 0;
  private boundPort = 0;
  private localAddr: string | null = null;
  private summary: ConnectorSummary = { packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null };
  private finished: Promise<ConnectorSummary> | null = null;
  private finish: ((s: ConnectorSummary) => void) | null = null;
  private closing: Promise<void> | null = null;
  private decodeOpts: DecodeOptions | null = null;

  /** `sink` replaces the Kafka publisher (tests, embedding); the config is only stored here. */
  constructor(private readonly cfg: MirrorConfig, private readonly kafka: KafkaClient | null, sink?: PacketSink) {
    this.metrics = new ComponentMetrics('mirror');
    this.encapsulation = cfg.encapsulation ?? (cfg.port === 6081 ? 'geneve' : 'vxlan');
    this.sink = sink ?? null;
  }

  /** The bound UDP port (meaningful after start(); the configured one may be 0). */
  get port(): number {
    return this.boundPort;
  }

  get observationPoint(): string {
    return this.cfg.observationPoint ?? `mirror:${this.boundPort || this.cfg.port}`;
  }

  async start(): Promise<void> {
    if (this.socket || this.closing) return;
    if (!this.sink) {
      if (!this.kafka) throw new TaplineError('CONFIG_INVALID', 'mirror', 'mirror connector needs a Kafka client or a sink');
      this.producer = this.kafka.producer({ idempotent: true });
      await this.producer.connect();
      this.sink = new PacketPublisher(this.producer, this.cfg.topic, this.metrics, this.cfg.batchSize);
    }
    this.tracker = new SendTracker(this.cfg.maxInflightBatches, this.metrics, this.log);
    const sock = dgram.createSocket({ type: net.isIPv6(this.cfg.host) ? 'udp6' : 'udp4', reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(this.cfg.port, this.cfg.host, () => { sock.off('error', reject); resolve(); });
      });
    } catch (e) {
      sock.close();
      await this.producer?.close().catch(() => undefined);
      throw new TaplineError('IO', 'mirror', `cannot listen on udp ${this.cfg.host}:${this.cfg.port}: ${(e as Error).message}`, { cause: e });
    }
    if (this.cfg.receiveBufferBytes) {
      try { sock.setRecvBufferSize(this.cfg.receiveBufferBytes); } catch (e) { this.log.warn({ err: (e as Error).message }, 'cannot set SO_RCVBUF'); }
    }
    this.boundPort = sock.address().port;
    this.drops = new DropPoller(this.cfg.host, this.boundPort);
    this.localAddr = localAddressFor(this.cfg.host, this.cfg.localAddress);
    const prefix = this.cfg.payloadPrefixBytes;
    this.decodeOpts = { observationPoint: this.observationPoint, payloadPrefix: prefix === undefined ? defaultPayloadPrefix : () => prefix };
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    sock.on('error', (e) => { this.metrics.error('IO'); this.log.error({ err: e.message }, 'mirror socket error'); });
    this.socket = sock;
    this.timer = setInterval(() => {
      this.pollSocketDrops();
      if (!this.tracker!.busy) this.tracker!.track(this.sink!.flush());
    }, this.cfg.flushIntervalMs);
    this.finished = new Promise((resolve) => { this.finish = resolve; });
    this.log.info({ port: this.boundPort, host: this.cfg.host, encapsulation: this.encapsulation, observationPoint: this.observationPoint }, 'mirror receiver listening');
  }

  /** Parses one datagram into a summary, or null (counted) when its tunnel header is unusable. */
  summarize(msg: Buffer, sender: string, tsNs: bigint): PacketSummary | null {
    const t = parseTunnel(msg, this.encapsulation);
    if (typeof t === 'string') {
      this.stats.malformed.set(t, (this.stats.malformed.get(t) ?? 0) + 1);
      this.metrics.dropped('malformed');
      return null;
    }
    const inner = msg.subarray(t.offset);
    const p = decodeFrame({ linkType: t.linkType, data: inner, ts_ns: tsNs, wireLen: inner.length, capLen: inner.length }, this.decodeOpts!, this.decodeStats);
    p.tunnel_type = this.encapsulation === 'vxlan' ? 'VXLAN' : 'GENEVE';
    p.tunnel_id = t.vni;
    p.outer_src_ip = plainAddress(sender);
    p.outer_dst_ip = this.localAddr;
    return p;
  }

  private onDatagram(msg: Buffer, sender: string): void {
    const ts = this.clock.now();
    this.stats.datagrams++;
    this.metrics.received();
    if (this.tracker!.busy) {
      this.stats.droppedBackpressure++;
      this.metrics.dropped('backpressure');
      return;
    }
    const p = this.summarize(msg, sender, ts);
    if (!p) return;
    this.stats.published++;
    const s = this.summary;
    if (p.malformed) s.malformed++;
    s.packets++;
    s.bytes += p.wire_len;
    s.firstTsNs ??= ts;
    s.lastTsNs = ts;
    this.tracker!.track(this.sink!.add(p));
  }

  /** Counts what the kernel dropped for our socket since the last poll (at most once a second unless forced). */
  pollSocketDrops(force = false): void {
    const now = Date.now();
    if (!this.drops || (!force && now - this.lastDropPoll < 1000)) return;
    this.lastDropPoll = now;
    const n = this.drops.poll();
    if (n > 0) {
      this.stats.droppedSocketBuffer += n;
      this.metrics.dropped('socket-buffer', n);
    }
  }

  /** A live source never ends by itself: resolves after close() with what was published. */
  done(): Promise<ConnectorSummary> {
    if (!this.finished) return Promise.reject(new Error('mirror: done() before start()'));
    return this.finished;
  }

  /** Stops receiving, sends what is queued, waits for outstanding sends. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.pollSocketDrops(true);
    const sock = this.socket;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
    if (this.tracker && this.sink) {
      this.tracker.track(this.sink.flush());
      await this.tracker.drain();
    }
    await this.producer?.close().catch(() => undefined);
    this.log.info({ ...this.summary, firstTsNs: String(this.summary.firstTsNs), lastTsNs: String(this.summary.lastTsNs), dropped: this.stats.droppedBackpressure, malformedDatagrams: Object.fromEntries(this.stats.malformed) }, 'mirror receiver closed');
    this.finish?.(this.summary);
  }
}
