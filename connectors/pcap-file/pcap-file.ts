/**
 * pcap-file source: streams a pcap/pcapng(.gz) file through the decoder into Kafka.
 * As fast as possible (awaiting each batch, so Kafka's pace limits reading) or at real time
 * times `speed`. A corrupt file publishes every packet before the damage, then fails with the
 * reader's PCAP_CORRUPT error (which names the byte offset).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { readCaptureBatches } from '../../lib/pcap';
import { decodeFrame, DecodeStats, defaultPayloadPrefix } from '../../lib/decode';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import type { PcapFileConfig } from './config';

export class PcapFileConnector implements Connector {
  readonly type = 'pcap-file';
  readonly metrics: ComponentMetrics;
  readonly decodeStats = new DecodeStats();
  private readonly log = logger('pcap-file');
  private producer: TaplineProducer | null = null;
  private running: Promise<ConnectorSummary> | null = null;
  private stopped = false;
  private closed = false;
  /** ends the wait of a real-time replay early (close) */
  private wake: (() => void) | null = null;

  constructor(private readonly cfg: PcapFileConfig, private readonly kafka: KafkaClient) {
    this.metrics = new ComponentMetrics('pcap-file');
  }

  get observationPoint(): string {
    return this.cfg.observationPoint ?? `file:${path.basename(this.cfg.path)}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!fs.existsSync(this.cfg.path)) throw new TaplineError('IO', 'pcap-file', `capture file not found: ${this.cfg.path}`);
    this.producer = this.kafka.producer({ idempotent: true });
    await this.producer.connect();
    this.running = this.run();
    this.running.catch(() => undefined);
  }

  done(): Promise<ConnectorSummary> {
    if (!this.running) return Promise.reject(new Error('pcap-file: done() before start()'));
    return this.running;
  }

  private payloadPolicy(): (proto: number, sp: number, dp: number) => number {
    const n = this.cfg.payloadPrefixBytes;
    return n === undefined ? defaultPayloadPrefix : () => n;
  }

  private async run(): Promise<ConnectorSummary> {
    const publisher = new PacketPublisher(this.producer!, this.cfg.topic, this.metrics, this.cfg.batchSize);
    const opts = { observationPoint: this.observationPoint, payloadPrefix: this.payloadPolicy() };
    const summary: ConnectorSummary = { packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null };
    const size = fs.statSync(this.cfg.path).size;
    const bar = this.cfg.progress && process.stderr.isTTY && !this.cfg.path.endsWith('.gz')
      ? new SingleBar({ format: 'capture {bar} {percentage}% | {value}/{total} bytes | {packets} packets', stream: process.stderr }, Presets.shades_classic)
      : null;
    bar?.start(size, 0, { packets: 0 });
    const started = Date.now();
    try {
      // Records come in batches (one await per batch, not per packet); the reader pauses while
      // the publisher waits for Kafka.
      for await (const batch of readCaptureBatches(this.cfg.path)) {
        if (this.stopped) break;
        this.metrics.received(batch.length);
        for (const rec of batch) {
          if (this.cfg.speed > 0) {
            await this.pace(rec.ts_ns, summary.firstTsNs, started);
            if (this.stopped) break;
          }
          const p = decodeFrame(rec, opts, this.decodeStats);
          if (p.malformed) summary.malformed++;
          summary.packets++;
          summary.bytes += rec.wireLen;
          summary.firstTsNs ??= rec.ts_ns;
          summary.lastTsNs = rec.ts_ns;
          const pending = publisher.add(p);
          if (pending) {
            await pending;
            bar?.update(rec.offset, { packets: summary.packets });
          }
        }
      }
      await publisher.flush();
    } catch (e) {
      // Everything decoded before the damage is still published before the error surfaces.
      await publisher.flush();
      if (e instanceof TaplineError) this.metrics.error(e.code);
      throw e;
    } finally {
      bar?.update(size, { packets: summary.packets });
      bar?.stop();
    }
    this.log.info({ file: this.cfg.path, ...summary, firstTsNs: String(summary.firstTsNs), lastTsNs: String(summary.lastTsNs) }, 'capture file published');
    return summary;
  }

  /** Real-time replay: wait until the packet's offset in the capture, divided by speed, has passed. */
  private async pace(ts: bigint, first: bigint | null, startedMs: number): Promise<void> {
    if (first === null) return;
    const dueMs = startedMs + Number((ts - first) / 1_000_000n) / this.cfg.speed;
    const wait = dueMs - Date.now();
    if (wait > 1) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.wake = () => { clearTimeout(t); r(); };
      });
      this.wake = null;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    this.wake?.();
    await this.running?.catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }
}
