/**
 * mirror source: a UDP receiver for VXLAN / GENEVE traffic-mirroring streams, i.e. what the
 * target of AWS VPC Traffic Mirroring, Azure vTAP or a GENEVE gateway receives. Each datagram
 * is one mirrored frame behind a tunnel header: the header is parsed here, the inner frame goes
 * through decodeFrame, and the tunnel fields come from the datagram itself (VNI, the sender as
 * outer_src_ip, our address as outer_dst_ip). Timestamps are receive times.
 *
 * The socket lifecycle (binding, backpressure drops, socket-buffer drops, flushing, close) is
 * UdpSourceConnector's; this file only turns a datagram into a PacketSummary.
 */
import net from 'node:net';
import os from 'node:os';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type DecodeOptions } from '../../lib/decode';
import type { KafkaClient } from '../../lib/kafka';
import type { PacketSummary } from '../../schemas/types';
import { PacketPublisher } from '../publisher';
import { UdpSourceConnector, type Flushable, type PacketSink, type UdpSourceStats } from '../udp/udp-source';
import type { MirrorConfig } from './config';
import { parseTunnel, type Encapsulation } from './tunnel';

export type { PacketSink };

export interface MirrorStats extends UdpSourceStats {
  datagrams: number;
  /** datagrams whose tunnel header was unusable, by reason (nothing published for them) */
  malformed: Map<string, number>;
  /** inner frames published (including those the decoder marked malformed) */
  published: number;
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

export class MirrorConnector extends UdpSourceConnector<MirrorConfig, MirrorStats> {
  declare readonly type: 'mirror';
  readonly decodeStats = new DecodeStats();
  readonly stats: MirrorStats = { datagrams: 0, malformed: new Map(), published: 0, droppedBackpressure: 0, droppedSocketBuffer: 0 };
  private readonly encapsulation: Encapsulation;
  private sink: PacketSink | null;
  private localAddr: string | null = null;
  private decodeOpts: DecodeOptions | null = null;

  /** `sink` replaces the Kafka publisher (tests, embedding); the config is only stored here. */
  constructor(cfg: MirrorConfig, kafka: KafkaClient | null, sink?: PacketSink) {
    super('mirror', cfg, kafka);
    this.encapsulation = cfg.encapsulation ?? (cfg.port === 6081 ? 'geneve' : 'vxlan');
    this.sink = sink ?? null;
  }

  get observationPoint(): string {
    return this.cfg.observationPoint ?? `mirror:${this.port || this.cfg.port}`;
  }

  protected async openSinks(): Promise<Flushable[]> {
    if (!this.sink) {
      const producer = await this.connectProducer('mirror connector needs a Kafka client or a sink');
      this.sink = new PacketPublisher(producer, this.cfg.topic, this.metrics, this.cfg.batchSize);
    }
    return [this.sink];
  }

  /** The observation point and outer_dst_ip default to what the socket was bound to. */
  protected listening(): void {
    this.localAddr = localAddressFor(this.cfg.host, this.cfg.localAddress);
    const prefix = this.cfg.payloadPrefixBytes;
    this.decodeOpts = { observationPoint: this.observationPoint, payloadPrefix: prefix === undefined ? defaultPayloadPrefix : () => prefix };
    this.log.info({ port: this.port, host: this.cfg.host, encapsulation: this.encapsulation, observationPoint: this.observationPoint }, 'mirror receiver listening');
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

  /** Handles one datagram (after start()); `sender` is the UDP source, reported as outer_src_ip. */
  handleDatagram(msg: Buffer, sender: string, tsNs: bigint): void {
    this.stats.datagrams++;
    this.metrics.received();
    if (!this.admit()) return;
    const p = this.summarize(msg, sender, tsNs);
    if (!p) return;
    this.stats.published++;
    this.countPacket(p, p.wire_len, tsNs);
    this.track(this.sink!.add(p));
  }

  protected logClosed(): void {
    const s = this.summary;
    this.log.info({ ...s, firstTsNs: String(s.firstTsNs), lastTsNs: String(s.lastTsNs), dropped: this.stats.droppedBackpressure, malformedDatagrams: Object.fromEntries(this.stats.malformed) }, 'mirror receiver closed');
  }
}
