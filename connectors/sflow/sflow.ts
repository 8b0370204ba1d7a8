/**
 * sflow source: an sFlow v5 collector (UDP 6343; Open vSwitch, switches and hsflowd export it).
 * Flow samples: every raw packet header record goes through decodeFrame with the sample's
 * sampling rate and the record's frame length (wire_len) -> PacketSummary on `topic`.
 * Counter samples with generic interface / ethernet counters -> InterfaceCounters on
 * `countersTopic`. Malformed datagrams are counted by reason and never stop the collector;
 * sequence-number gaps per agent/sub-agent are counted as lost datagrams.
 * Like every socket source, it drops (and counts) what arrives while Kafka is behind: the socket
 * lifecycle is UdpSourceConnector's, this file only turns samples into records.
 */
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type PayloadPolicy } from '../../lib/decode';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6 } from '../../lib/decode/link';
import type { ComponentMetrics } from '../../lib/metrics';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, OutMessage, TaplineProducer } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import { INTERFACE_COUNTERS_SCHEMA, type InterfaceCounters } from '../../schemas/interface-counters';
import { PacketPublisher } from '../publisher';
import { UdpSourceConnector, type Flushable, type PacketSink, type RecordSink, type UdpSourceStats } from '../udp/udp-source';
import type { SflowConfig } from './config';
import { parseSflow, SflowParseError, type CounterSample, type FlowSample, type SflowDatagram } from './parse';
import { SequenceTracker } from './sequence';

export type CounterSink = RecordSink<InterfaceCounters>;

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

export interface SflowStats extends UdpSourceStats {
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
}

export class SflowConnector extends UdpSourceConnector<SflowConfig, SflowStats> {
  declare readonly type: 'sflow';
  readonly decodeStats = new DecodeStats();
  readonly sequences = new SequenceTracker();
  readonly stats: SflowStats = {
    datagrams: 0, malformed: new Map(), flowSamples: 0, counterSamples: 0, counterSamplesSkipped: 0, otherSamples: 0,
    packetsPublished: 0, countersPublished: 0, unsupportedHeaders: new Map(), droppedBackpressure: 0, droppedSocketBuffer: 0,
  };
  private packets: PacketSink | null;
  private counters: CounterSink | null;
  private readonly payloadPrefix: PayloadPolicy;

  /** `sinks` replace the Kafka publishers (tests, embedding); the config is only stored here. */
  constructor(cfg: SflowConfig, kafka: KafkaClient | null, sinks?: { packets: PacketSink; counters: CounterSink }) {
    super('sflow', cfg, kafka);
    this.packets = sinks?.packets ?? null;
    this.counters = sinks?.counters ?? null;
    const n = cfg.payloadPrefixBytes;
    this.payloadPrefix = n === undefined ? defaultPayloadPrefix : () => n;
  }

  protected async openSinks(): Promise<Flushable[]> {
    if (!this.packets || !this.counters) {
      const producer = await this.connectProducer('sflow connector needs a Kafka client or sinks');
      // the packets topic belongs to the pipeline; the counters topic is this connector's own
      await this.kafka!.ensureTopics([{ topic: this.cfg.countersTopic, partitions: this.cfg.countersTopicPartitions }]);
      this.packets = new PacketPublisher(producer, this.cfg.topic, this.metrics, this.cfg.batchSize);
      this.counters = new CountersPublisher(producer, this.cfg.countersTopic, this.metrics, this.cfg.batchSize);
    }
    return [this.packets, this.counters];
  }

  protected listening(): void {
    this.log.info({ port: this.port, host: this.cfg.host }, 'sflow collector listening');
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
      this.track(this.packets!.add(p));
      this.stats.packetsPublished++;
      this.countPacket(p, wireLen, ts);
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
    this.track(this.counters!.add(rec));
    this.stats.countersPublished++;
  }

  protected logClosed(): void {
    this.log.info({
      datagrams: this.stats.datagrams, packets: this.stats.packetsPublished, counters: this.stats.countersPublished,
      malformed: Object.fromEntries(this.stats.malformed), ...this.sequences.counts, droppedBackpressure: this.stats.droppedBackpressure,
    }, 'sflow collector closed');
  }
}
