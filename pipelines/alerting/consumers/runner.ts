/**
 * The alert consumer: reads tapline.alerts.v1, decodes each record and hands it to every output
 * (in parallel), record by record in partition order. A record's offset is committed only after
 * every output has delivered it or it has been dead-lettered (at the end of each fetched batch
 * and at least every second within one), so a crash re-delivers
 * (at-least-once: receivers dedupe on id + state + updated_ns). Undecodable records go to the
 * common dead-letter topic; alerts an output gave up on go to the alerts dead-letter topic with
 * the original Avro bytes (replayable) and headers saying which output, why, after how many tries.
 */
import { AvroCodec } from '../../../schemas';
import { ALERT_SCHEMA, type Alert } from '../../../schemas/alert';
import { ComponentMetrics } from '../../../lib/metrics';
import { logger } from '../../../lib/log';
import { errorMessage, isTaplineError } from '../../../lib/errors';
import { readPartitionsToEnd, type InBatch, type InMessage, type KafkaClient, type OutMessage, type TaplineConsumer, type TaplineProducer } from '../../../lib/kafka';
import { Completion, EndOffsets, prepareBoundedRun } from '../../runtime/bounded';
import type { AlertOutput } from './output';
import type { DeliveryOutcome } from './retry';

export interface AlertConsumerOptions {
  kafka: KafkaClient;
  topic: string;
  groupId: string;
  deadLetterTopic: string;
  failedTopic: string;
  outputs: AlertOutput[];
  /** Stop after the records that exist at start (tests, replays). */
  bounded?: boolean;
}

const COMMIT_EVERY_MS = 1_000;

/** An output that wants the latest state of every alert before consuming starts (Alertmanager re-sends). */
interface Restorable { restore(latest: Iterable<Alert>): void }
const restorable = (o: AlertOutput): o is AlertOutput & Restorable => typeof (o as Partial<Restorable>).restore === 'function';

export class AlertConsumer {
  readonly metrics = new ComponentMetrics('alerts-consumer');
  private readonly log = logger('alerts-consumer');
  private readonly codec = new AvroCodec<Alert>(ALERT_SCHEMA);
  private readonly stop = new AbortController();
  private readonly completion = new Completion();
  private consumer: TaplineConsumer | null = null;
  private producer: TaplineProducer | null = null;
  private ends: EndOffsets | null = null;
  private closed = false;

  constructor(private readonly o: AlertConsumerOptions) {}

  async start(): Promise<void> {
    this.producer = this.o.kafka.producer({ idempotent: true });
    await this.producer.connect();
    const wantLatest = this.o.outputs.filter(restorable);
    if (wantLatest.length) {
      const latest = await this.latestStates();
      for (const out of wantLatest) out.restore(latest.values());
    }
    for (const out of this.o.outputs) await out.start();
    if (this.o.bounded) {
      this.ends = await prepareBoundedRun(this.o.kafka, this.o.topic, this.o.groupId);
      if (this.ends.complete) { this.completion.resolve(); return; }
    }
    this.consumer = this.o.kafka.consumer(this.o.groupId);
    this.consumer.run([this.o.topic], (b, ctl) => this.onBatch(b, ctl.heartbeat), {
      onProgress: (_t, p, next) => { if (this.ends?.advance(p, next)) this.completion.resolve(); },
    }).catch((e: Error) => this.completion.reject(e));
    this.log.info({ topic: this.o.topic, group: this.o.groupId, outputs: this.o.outputs.map((x) => x.name) }, 'alert consumer started');
  }

  done(): Promise<void> { return this.completion.promise; }

  /** Latest decodable state per dedup_key on the whole topic (it is compacted by key). */
  private async latestStates(): Promise<Map<string, Alert>> {
    const latest = new Map<string, Alert>();
    const n = await this.o.kafka.partitionCount(this.o.topic);
    await readPartitionsToEnd(this.o.kafka, this.o.topic, [...Array(n).keys()], (_p, m) => {
      if (m.value === null) { if (m.key) latest.delete(m.key.toString()); return; }
      try { const a = this.codec.decode(m.value); latest.set(a.dedup_key, a); } catch { /* poison: the consumer dead-letters it */ }
    });
    return latest;
  }

  private async onBatch(batch: InBatch, heartbeat: () => Promise<void>): Promise<void> {
    let done: bigint | null = null; // next offset to commit: every record before it is finished
    let lastCommit = Date.now();
    const commit = async () => {
      if (done === null) return;
      await this.consumer!.commit([{ topic: batch.topic, partition: batch.partition, offset: done }]);
      done = null;
      lastCommit = Date.now();
    };
    for (const m of batch.messages) {
      if (this.stop.signal.aborted) break;
      if (this.ends?.beyond(batch.partition, m.offset)) break;
      const source = `${batch.topic}/${batch.partition}/${m.offset}`;
      this.metrics.received();
      const dead: { topic: string; msg: OutMessage }[] = [];
      if (m.value === null) {
        // A tombstone on the compacted topic forgets an alert: nothing to notify.
        this.metrics.dropped('tombstone');
      } else {
        let alert: Alert | null = null;
        try {
          alert = this.codec.decode(m.value);
        } catch (e) {
          const code = isTaplineError(e) ? e.code : 'AVRO_DECODE';
          this.metrics.error(code);
          this.metrics.dropped('dead-letter');
          this.log.warn({ code, reason: errorMessage(e), source }, 'undecodable alert record dead-lettered');
          dead.push({ topic: this.o.deadLetterTopic, msg: this.deadLetter(m, code, errorMessage(e), 'alerts-consumer', source) });
        }
        if (alert) {
          const outcomes = await Promise.all(this.o.outputs.map((out) => out.deliver(alert!, { signal: this.stop.signal, heartbeat })
            .catch((e): DeliveryOutcome => ({ kind: 'failed', attempts: 0, code: 'DELIVERY_FAILED', reason: `output error: ${errorMessage(e)}` }))));
          // Closing mid-delivery: leave the record uncommitted; it is delivered again after a restart.
          if (outcomes.some((x) => x.kind === 'aborted')) break;
          outcomes.forEach((x, i) => {
            if (x.kind !== 'failed') return;
            const out = this.o.outputs[i];
            this.log.warn({ output: out.name, id: alert!.id, state: alert!.state, code: x.code, reason: x.reason, attempts: x.attempts }, 'alert dead-lettered');
            dead.push({ topic: this.o.failedTopic, msg: this.deadLetter(m, x.code, x.reason, `alerts-${out.name}`, source,
              { 'tapline.output': out.name, 'tapline.attempts': String(x.attempts), 'tapline.alert-id': alert!.id, 'tapline.alert-state': alert!.state }) });
          });
          this.metrics.sent();
        }
      }
      if (dead.length) await this.producer!.sendMany(dead.map((d) => ({ topic: d.topic, messages: [d.msg] })));
      done = m.offset + 1n;
      // Commit at the end of the batch, and within the batch at least every COMMIT_EVERY_MS, so
      // a restart re-sends at most about that much work (or the one record that was retrying).
      if (Date.now() - lastCommit >= COMMIT_EVERY_MS) await commit();
    }
    await commit();
  }

  private deadLetter(m: InMessage, code: string, reason: string, stage: string, source: string, extra: Record<string, string> = {}): OutMessage {
    return { key: m.key, value: m.value, headers: { 'tapline.code': code, 'tapline.reason': reason, 'tapline.stage': stage, 'tapline.source': source, ...extra } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(); // retries and requests in flight end; their record stays uncommitted
    await this.consumer?.close().catch(() => undefined);
    for (const out of this.o.outputs) await out.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
    this.completion.resolve();
  }
}
