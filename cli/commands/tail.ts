/**
 * `tapline tail <topic>`: print a topic's records as JSON lines, decoded with the schema named in
 * the message (single-object fingerprint or registry id) — for looking at what a stage emits and
 * at dead letters (their headers say why) without writing a consumer.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { allSchemas, AvroCodec, rabinFingerprint } from '../../schemas';
import { KafkaClient, type InMessage } from '../../lib/kafka';
import { configFrom, positiveInt } from '../options';
import { ensureKafka } from '../../lib/services/kafka-broker';
import path from 'node:path';
import { Completion } from '../../pipelines/runtime/bounded';

/** fingerprint -> codec for every schema in schemas/, to recognise any tapline message. */
function codecsByFingerprint(): Map<bigint, AvroCodec> {
  const m = new Map<bigint, AvroCodec>();
  for (const [name, s] of allSchemas()) m.set(rabinFingerprint(s.canonical), new AvroCodec(name));
  return m;
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : Buffer.isBuffer(x) ? x.toString('base64') : x));

export function describeMessage(m: InMessage, codecs: Map<bigint, AvroCodec>): Record<string, unknown> {
  const out: Record<string, unknown> = { offset: m.offset.toString(), key: m.key?.toString() ?? null };
  if (Object.keys(m.headers).length) out.headers = m.headers;
  const v = m.value;
  if (v === null) return { ...out, value: null };
  if (v.length >= 10 && v[0] === 0xc3 && v[1] === 0x01) {
    const codec = codecs.get(v.readBigUInt64LE(2));
    if (codec) {
      try { return { ...out, schema: codec.name, value: codec.decode(v) }; } catch (e) { return { ...out, schema: codec.name, error: (e as Error).message, raw: v.toString('base64') }; }
    }
  }
  return { ...out, raw: v.toString('base64') };
}

export function register(program: Command): void {
  program.command('tail <topic>')
    .description('print a topic\'s records as JSON lines (Avro decoded by the schema named in each message; dead letters with their reason)')
    .option('--brokers <list>', 'Kafka to read (default: the embedded broker)')
    .option('--from-beginning', 'start at the oldest record instead of the newest', false)
    .option('--max <n>', 'stop after n records', positiveInt('--max'))
    .option('--wait <seconds>', 'stop after this long without records (default: run until Ctrl-C)', positiveInt('--wait'))
    .action(async (topic: string, opts: { fromBeginning: boolean; max?: number; wait?: number }, cmd: Command) => {
      const cfg = configFrom(cmd);
      // The given cluster, or the embedded broker (reused when running, started otherwise).
      const { brokers } = await ensureKafka(cfg.kafka.brokers.length
        ? { brokers: cfg.kafka.brokers }
        : { stateDir: path.join(cfg.stateDir, 'kafka'), port: cfg.kafka.embeddedPort });
      const kafka = new KafkaClient({ brokers, clientId: 'tapline-tail' });
      const codecs = codecsByFingerprint();
      const groupId = `tapline-tail-${randomUUID()}`;
      const consumer = kafka.consumer(groupId);
      const done = new Completion();
      let n = 0;
      let idle: NodeJS.Timeout | null = null;
      const arm = () => { if (opts.wait) { if (idle) clearTimeout(idle); idle = setTimeout(() => done.resolve(), opts.wait * 1000); } };
      arm();
      const onSignal = () => done.resolve();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal); // a supervisor's stop must also delete the throw-away group
      consumer.run([topic], async (b) => {
        for (const m of b.messages) {
          if (opts.max !== undefined && n >= opts.max) { done.resolve(); return; }
          process.stdout.write(`${json({ partition: b.partition, ...describeMessage(m, codecs) })}\n`);
          n++;
        }
        arm();
        if (opts.max !== undefined && n >= opts.max) done.resolve();
      }, { fromBeginning: opts.fromBeginning }).catch((e: Error) => done.reject(e));
      try {
        await done.promise;
      } finally {
        if (idle) clearTimeout(idle);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await consumer.close().catch(() => undefined);
        await kafka.deleteGroup(groupId);
        await kafka.close();
      }
    });
}
