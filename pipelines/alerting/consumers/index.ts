/**
 * Alert consumers: the runner and the outputs it can feed (webhook, Alertmanager, stdout,
 * syslog), built from one validated configuration. See docs/alerts.md.
 */
import type { KafkaClient } from '../../../lib/kafka';
import { assertOutputsConfigured, type AlertConsumerConfig, type OutputName } from '../../../lib/config/alert-consumers';
import type { AlertOutput } from './output';
import { WebhookOutput } from './webhook';
import { AlertmanagerOutput } from './alertmanager';
import { StdoutOutput } from './stdout';
import { SyslogOutput } from './syslog';
import { AlertConsumer } from './runner';

export { AlertConsumer, type AlertConsumerOptions } from './runner';
export { assertOutputsConfigured, OUTPUT_NAMES, type AlertConsumerConfig, type OutputName } from '../../../lib/config/alert-consumers';
export { alertConsumerConfigFrom, alertsOverrides, parseAlertConsumerConfig } from './settings';
export type { AlertOutput } from './output';
export { WebhookOutput, AlertmanagerOutput, StdoutOutput, SyslogOutput };

export function createOutput(name: OutputName, cfg: AlertConsumerConfig): AlertOutput {
  switch (name) {
    case 'webhook':
      return new WebhookOutput({ url: cfg.webhook.url!, secret: cfg.webhook.secret!, headers: cfg.webhook.headers, retry: cfg.retry });
    case 'alertmanager':
      return new AlertmanagerOutput({ url: cfg.alertmanager.url!, resendIntervalMs: cfg.alertmanager.resendIntervalMs,
        endsAtGraceMs: cfg.alertmanager.endsAtGraceMs, generatorUrl: cfg.alertmanager.generatorUrl, extraLabels: cfg.alertmanager.labels, retry: cfg.retry });
    case 'stdout':
      return new StdoutOutput();
    case 'syslog':
      return new SyslogOutput(cfg.syslog, cfg.retry);
  }
}

export function defaultGroupId(outputs: OutputName[]): string {
  return `tapline-alerts-${[...outputs].sort().join('-')}`;
}

/** A consumer feeding `outputs`; settings are validated before anything is created. */
export function createAlertConsumer(kafka: KafkaClient, cfg: AlertConsumerConfig, outputs: OutputName[], opts: { bounded?: boolean } = {}): AlertConsumer {
  assertOutputsConfigured(cfg, outputs);
  return new AlertConsumer({
    kafka, topic: cfg.topic, groupId: cfg.groupId ?? defaultGroupId(outputs), deadLetterTopic: cfg.deadLetterTopic, failedTopic: cfg.failedTopic,
    outputs: outputs.map((o) => createOutput(o, cfg)), bounded: opts.bounded,
  });
}
