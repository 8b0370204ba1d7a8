/**
 * sflow source: an sFlow v5 collector (UDP 6343; Open vSwitch, switches and hsflowd export it).
 * Flow samples: every raw packet header record goes through decodeFrame with the sample's
 * sampling rate and the record's frame length (wire_len) -> PacketSummary on `topic`.
 * Counter samples with generic interface / ethernet counters -> InterfaceCounters on
 * `countersTopic`. Malformed datagrams are counted by reason and never stop the collector;
 * sequence-number gaps per agent/sub-agent are counted as lost datagrams.
 * Like every socket source, it drops (and counts) what arrives while Kafka is behind.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type PayloadPolicy } from '../../lib/decode';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6 } from '../../lib/decode/link';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, OutMessage, TaplineProducer } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import { INTERFACE_COUNTERS_SCHEMA, type InterfaceCounters } from '../../schemas/interface-counters';
import type { PacketSummary } from '../../schemas/types';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import { HrWallClock } from '../mirror/clock';
import { SendTracker } from '../mirror/backpressure';
import { DropPoller } from '../mirror/socket-drops';
import type { PacketSink } from '../mirror/mirror';
import type { SflowConfig } from './config';
import { parseSflow, SflowParseError, type CounterSample, type FlowSample, type SflowDatagram } from './parse';
import { SequenceTracker } from './sequence';

export interface CounterSink {
  add(c: InterfaceCounters): Promise<void> | null;
  flush(): Promise<void>;
}

/** Batches InterfaceCounters to Kafka (same contract as PacketPublisher), keyed by agent/source. */
export class CountersPublisher implements CounterSink {
  private readonly codec = new AvroCodec<InterfaceCounters>(INTERFACE_COUNTERS_SCHEMA);
  private pending: OutMessage[] = [];
  constructor(private readonly producer: TaplineProducer, private readonly topic: string,
    private readonly metrics: ComponentMetrics, private readonly batchSize = 500) {}

  add(c: InterfaceCounters): Promise<void> | null {
    this.pending.push({ key: `${c.agent}/${c.sub_agent_id}/${c.source_id_type}:${c.source_id_index}`, value: this.codec.encode(c) });
    return this.pending.length >= this.batchSize ? this.flush() : null;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    await this.producer.send(this.topic, batch);
    this.metrics.sent(batch.length);
  }
}

/** sFlow header_protocol -> pcap LINKTYPE (1 ethernet-ISO88023, 11 IPv4, 12 IPv6). */
const HEADER_LINKTYPES = new Map([[1, LINKTYPE_ETHERNET], [11, LINKTYPE_IPV4], [12, LINKTYPE_IPV6]]);
const INT_MAX = 2 ** 31 - 1;

export interface SflowStats {
  datagrams: number;
  /** rejected datagrams by reason (nothing published from them) */
  malformed: Map<string, number>;
  flowSamples: number;
  counterSamples: number;
  /** counter samples without generic/ethernet counters (e.g. host sFlow), not published */
  counterSamplesSkipped: number;
  /** samples of other types/enterprises, skipped */
  otherSamples: number;
  packetsPublished: number;
  countersPublished: number;
  /** raw header records with a header protocol we do not decode, by protocol */
  unsupportedHeaders: Map<number, number>;
  droppedBackpressure: number;
  /** datagrams the kernel dropped because the socket buffer was full (from /proc/net/udp) */
  droppedSocketBuffer: number;
}

export class SflowConnector implements Connector {
  readonly type = 'sflow';
  readonly metrics: ComponentMetrics;
  readonly decodeStats = new DecodeStats();
  readonly sequences = new SequenceTracker();
  readonly stats: SflowStats = {
    datagrams: 0, malformed: new Map(), flowSamples: 0, counterSamples: 0, counterSamplesSkipped: 0, otherSamples: 0,
    packetsPublished: 0, countersPublished: 0, unsupportedHeaders: new Map(), droppedBackpressure: 0, droppedSocketBuffer: 0,
  };
  private readonly log = logger('sflow');
  private readonly clock = new HrWallClock();
  private socket: dgram.Socket | null = null;
  private producer: TaplineProducer | null = null;
  private packets: PacketSink | null;
  private counters: CounterSink | null;
  private tracker: SendTracker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private drops: DropPoller | null = null;
  private lastDropPoll = 0;
  private boundPort = 0;
  private readonly payloadPrefix: PayloadPolicy;
  private summary: ConnectorSummary = { packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null };
  private finished: Promise<ConnectorSummary> | null = null;
  private finish: ((s: ConnectorSummary) => void) | null = null;
  private closing: Promise<void> | null = null;

  /** `sinks` replace the Kafka publishers (tests, embedding); the config is only stored here. */
  constructor(private readonly cfg: SflowConfig, private readonly kafka: KafkaClient | null,
    sinks?: { packets: PacketSink; counters: CounterSink }) {
    this.metrics = new ComponentMetrics('sflow');
    this.packets = sinks?.packets ?? null;
    this.counters = sinks?.counters ?? null;
    const n = cfg.payloadPrefixBytes;
    this.payloadPrefix = n === undefined ? defaultPayloadPrefix : () => n;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.socket || this.closing) return;
    if (!this.packets || !this.counters) {
      if (!this.kafka) throw new TaplineError('CONFIG_INVALID', 'sflow', 'sflow connector needs a Kafka client or sinks');
      this.producer = this.kafka.producer({ idempotent: true });
      await this.producer.connect();
      // the packets topic belongs to the pipeline; the counters topic is this connector's own
      await this.kafka.ensureTopics([{ topic: this.cfg.countersTopic, partitions: this.cfg.countersTopicPartitions }]);
      this.packets = new PacketPublisher(this.producer, this.cfg.topic, this.metrics, this.cfg.batchSize);
      this.counters = new CountersPublisher(this.producer, this.cfg.countersTopic, this.metrics, this.cfg.batchSize);
    }
    this.tracker = new SendTracker(this.cfg.maxInflightBatches, this.metrics, this.log);
    const sock = dgram.createSocket({ type: net.isIPv6(this.cfg.host) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(this.cfg.port, this.cfg.host, () => { sock.off('error', reject); resolve(); });
      });
    } catch (e) {
      sock.close();
      await this.producer?.close().catch(() => undefined);
      throw new TaplineError('IO', 'sflow', `cannot listen on udp ${this.cfg.host}:${this.cfg.port}: ${(e as Error).message}`, { cause: e });
    }
    if (this.cfg.receiveBufferBytes) {
      try { sock.setRecvBufferSize(this.cfg.receiveBufferBytes); } catch (e) { this.log.warn({ err: (e as Error).message }, 'cannot set SO_RCVBUF'); }
    }
    this.boundPort = sock.address().port;
    this.drops = new DropPoller(this.cfg.host, this.boundPort);
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    sock.on('error', (e) => { this.metrics.error('IO'); this.log.error({ err: e.message }, 'sflow socket error'); });
    this.socket = sock;
    this.timer = setInterval(() => { this.pollSocketDrops(); this.flushAll(); }, this.cfg.flushIntervalMs);
    this.finished = new Promise((resolve) => { this.finish = resolve; });
    this.log.info({ port: this.boundPort, host: this.cfg.host }, 'sflow collector listening');
  }

  private flushAll(): void {
    if (this.tracker!.busy) return;
    this.tracker!.track(this.packets!.flush());
    this.tracker!.track(this.counters!.flush());
  }

  private reject(reason: string): void {
    this.stats.malformed.set(reason, (this.stats.malformed.get(reason) ?? 0) + 1);
    this.metrics.dropped('malformed');
  }

  /** Handles one datagram; `sender` is the UDP source (the agent address is in the datagram). */
  handleDatagram(msg: Buffer, sender: string, ts: bigint): void {
    this.stats.datagrams++;
    this.metrics.received();
    let dg: SflowDatagram;
    try {
      dg = parseSflow(msg);
    } catch (e) {
      if (e instanceof SflowParseError) this.reject(e.reason);
      else { this.reject('parser-error'); this.log.error({ err: (e as Error).message, sender }, 'sflow parser failed'); }
      return;
    }
    const lost = this.sequences.observe(`${dg.agent}/${dg.subAgentId}`, dg.sequence, dg.uptimeMs);
    if (lost > 0) this.metrics.dropped('sequence-gap', lost);
    this.stats.otherSamples += dg.otherSamples;
    for (const s of dg.samples) {
      try {
        if (s.kind === 'flow') this.flowSample(dg, s, ts);
        else this.counterSample(dg, s, ts);
      } catch (e) {
        // encoding a record we built cannot fail for valid input; keep the collector alive if it does
        const code = e instanceof TaplineError ? e.code : 'INTERNAL';
        this.metrics.error(code);
        this.log.error({ err: (e as Error).message, agent: dg.agent }, 'sflow sample could not be published');
      }
    }
  }

  private observationPoint(dg: SflowDatagram, s: FlowSample | CounterSample): string {
    return this.cfg.observationPoint ?? `sflow:${dg.agent}/${s.sourceIdIndex}`;
  }

  private admit(): boolean {
    if (!this.tracker!.busy) return true;
    this.stats.droppedBackpressure++;
    this.metrics.dropped('backpressure');
    return false;
  }

  private flowSample(dg: SflowDatagram, s: FlowSample, ts: bigint): void {
    this.stats.flowSamples++;
    const opts = { observationPoint: this.observationPoint(dg, s), samplingRate: Math.min(Math.max(s.samplingRate, 1), INT_MAX), payloadPrefix: this.payloadPrefix };
    for (const h of s.headers) {
      const linkType = HEADER_LINKTYPES.get(h.protocol);
      if (linkType === undefined) {
        this.stats.unsupportedHeaders.set(h.protocol, (this.stats.unsupportedHeaders.get(h.protocol) ?? 0) + 1);
        this.metrics.dropped('unsupported-header');
        continue;
      }
      if (!this.admit()) continue;
      const wireLen = Math.min(Math.max(h.frameLength, h.header.length), INT_MAX);
      const p = decodeFrame({ linkType, data: h.header, ts_ns: ts, wireLen, capLen: h.header.length }, opts, this.decodeStats);
      this.tracker!.track(this.packets!.add(p));
      this.stats.packetsPublished++;
      const sum = this.summary;
      if (p.malformed) sum.malformed++;
      sum.packets++;
      sum.bytes += wireLen;
      sum.firstTsNs ??= ts;
      sum.lastTsNs = ts;
    }
  }

  private counterSample(dg: SflowDatagram, s: CounterSample, ts: bigint): void {
    this.stats.counterSamples++;
    if (!s.generic && !s.ethernet) { this.stats.counterSamplesSkipped++; return; }
    if (!this.admit()) return;
    const rec: InterfaceCounters = {
      ts_ns: ts, observation_point: this.observationPoint(dg, s), agent: dg.agent, sub_agent_id: dg.subAgentId,
      datagram_sequence: dg.sequence, uptime_ms: dg.uptimeMs, sample_sequence: s.sequence,
      source_id_type: s.sourceIdType, source_id_index: s.sourceIdIndex,
      generic: s.generic, ethernet: s.ethernet,
    };
    this.tracker!.track(this.counters!.add(rec));
    this.stats.countersPublished++;
  }

  private onDatagram(msg: Buffer, sender: string): void {
    this.handleDatagram(msg, sender, this.clock.now());
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

  /** A live source never ends by itself: resolves after close() with the packets published. */
  done(): Promise<ConnectorSummary> {
    if (!this.finished) return Promise.reject(new Error('sflow: done() before start()'));
    return this.finished;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.pollSocketDrops(true);
    const sock = this.socket;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
    if (this.tracker && this.packets && this.counters) {
      this.tracker.track(this.packets.flush());
      this.tracker.track(this.counters.flush());
      await this.tracker.drain();
    }
    await this.producer?.close().catch(() => undefined);
    this.log.info({
      datagrams: this.stats.datagrams, packets: this.stats.packetsPublished, counters: this.stats.countersPublished,
      malformed: Object.fromEntries(this.stats.malformed), ...this.sequences.counts, droppedBackpressure: this.stats.droppedBackpressure,
    }, 'sflow collector closed');
    this.finish?.(this.summary);
  }
}
