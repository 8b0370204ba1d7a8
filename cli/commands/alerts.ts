/**
 * `tapline alerts send --to <output>[,<output>...] [--set key=value ...]`: consume the alerts
 * topic and deliver every alert state to a webhook, Alertmanager, stdout and/or syslog until
 * SIGTERM/SIGINT, with /metrics. Needs Kafka only (the embedded broker or --brokers). Settings:
 * the configuration's `alerts` section, which --set overrides (docs/alerts.md); the webhook
 * secret is best given as TAPLINE_WEBHOOK_SECRET.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { configFrom } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { ensureKafka } from '../../lib/services/kafka-broker';
import { KafkaClient } from '../../lib/kafka';
import { TaplineError } from '../../lib/errors';
import { allSchemas, useSchemaRegistry } from '../../schemas';
import {
  alertConsumerConfigFrom, alertsOverrides, assertOutputsConfigured, createAlertConsumer, OUTPUT_NAMES, type OutputName,
} from '../../pipelines/alerting/consumers';

function collectSet(v: string, prev: Record<string, unknown>): Record<string, unknown> {
  const i = v.indexOf('=');
  if (i <= 0) throw new TaplineError('CONFIG_INVALID', 'cli', `--set expects key=value, got "${v}"`);
  // Kept as text (a secret or label that looks like a number stays a string); the settings
  // schema coerces its numeric keys.
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

function parseOutputs(v: string): OutputName[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean) as OutputName[];
}

export function register(program: Command): void {
  const alerts = program.command('alerts').description('alert consumers (deliver alerts to webhooks, Alertmanager, stdout, syslog)');
  alerts.command('send')
    .option('--brokers <list>', 'use this Kafka cluster (host:port,...) instead of the embedded broker (env TAPLINE_KAFKA_BROKERS)')
    .option('--state-dir <dir>', 'where the embedded broker keeps its data (env TAPLINE_STATE_DIR, default .tapline)')
    .description(`deliver alerts from the alerts topic until SIGTERM (outputs: ${OUTPUT_NAMES.join(', ')})`)
    .requiredOption('--to <outputs>', `comma-separated outputs: ${OUTPUT_NAMES.join('|')}`, parseOutputs)
    .option('--set <key=value>', 'setting of the alerts section (repeatable), e.g. --set webhook.url=https://hooks.example/x --set retry.maxAttempts=8', collectSet, {})
    .option('--bounded', 'stop after the alerts that exist now', false)
    .action(async (opts: { to: OutputName[]; set: Record<string, unknown>; bounded: boolean }, cmd: Command) => {
      const cfg = configFrom(cmd, alertsOverrides(opts.set)); // --set k=v is alerts.k of the configuration
      const acfg = alertConsumerConfigFrom(cfg);
      assertOutputsConfigured(acfg, opts.to); // before anything is started
      const { brokers } = await ensureKafka(cfg.kafka.brokers.length
        ? { brokers: cfg.kafka.brokers }
        : { stateDir: path.join(cfg.stateDir, 'kafka'), port: cfg.kafka.embeddedPort, numPartitions: cfg.kafka.partitions });
      if (cfg.schemaRegistry.url) await useSchemaRegistry(cfg.schemaRegistry.url, allSchemas());
      const kafka = new KafkaClient({ brokers, clientId: `${cfg.kafka.clientId}-alerts`, sessionTimeoutMs: cfg.kafka.sessionTimeoutMs });
      try {
        await kafka.ensureTopics([
          { topic: acfg.topic, partitions: cfg.kafka.partitions, compacted: true },
          { topic: acfg.deadLetterTopic, partitions: 1 },
          { topic: acfg.failedTopic, partitions: 1 },
        ]);
        const consumer = createAlertConsumer(kafka, acfg, opts.to, { bounded: opts.bounded });
        await consumer.start();
        await runUntilSignal(cfg, `alerts send ${opts.to.join(',')}`, consumer.done(), () => consumer.close());
        const m = consumer.metrics.totals;
        process.stderr.write(`${JSON.stringify({ received: m.received, handled: m.sent, deadLettered: m.dropped, errors: m.errors })}\n`);
      } finally {
        await kafka.close();
      }
    });
}
