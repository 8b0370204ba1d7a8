import { Writable } from 'node:stream';
import { testServices, stopTestServices } from '../../../test/support/services';
import { AvroCodec } from '../../../schemas';
import { ALERT_SCHEMA, type Alert } from '../../../schemas/alert';
import { AlertConsumer, StdoutOutput, WebhookOutput } from '.';
import { sampleAlert, TestReceiver } from './testing';

async function main() {
  const s = await testServices();
  const codec = new AvroCodec<Alert>(ALERT_SCHEMA);
  const N = Number(process.env.N ?? 2000);
  const rx = await new TestReceiver().start();
  for (const which of ['stdout', 'webhook']) {
    const topic = `measure-${which}-${Date.now()}`;
    await s.kafka.ensureTopics([{ topic, partitions: 1 }, { topic: `${topic}.dlq`, partitions: 1 }]);
    const p = s.kafka.producer();
    const msgs = Array.from({ length: N }, (_, i) => { const a = sampleAlert({ dedup_key: `k${i}`, id: `k${i}@1` }); return { key: a.dedup_key, value: codec.encode(a) }; });
    for (let i = 0; i < N; i += 500) await p.send(topic, msgs.slice(i, i + 500));
    await p.close();
    const sink = new Writable({ write(_c, _e, cb) { cb(); } });
    const out = which === 'stdout' ? new StdoutOutput(sink) : new WebhookOutput({ url: rx.url, secret: 'x'.repeat(32), retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 100, timeoutMs: 2000 } });
    const c = new AlertConsumer({ kafka: s.kafka, topic, groupId: `${topic}-g`, deadLetterTopic: `${topic}.dlq`, failedTopic: `${topic}.dlq`, outputs: [out], bounded: true });
    const t0 = Date.now();
    await c.start(); await c.done(); await c.close();
    const ms = Date.now() - t0;
    console.log(`${which}: ${N} alerts in ${ms} ms = ${Math.round(N / (ms / 1000))} alerts/s (incl. group join)`);
  }
  await rx.close();
  await stopTestServices();
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
