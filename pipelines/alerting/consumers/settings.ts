/**
 * Where the alert consumers' settings come from: the `alerts` section of tapline's configuration,
 * loaded by lib/config like every other section (file, TAPLINE__alerts__* variables, and
 * `tapline alerts send --set key=value`, which sets alerts.key). Only the webhook secret is
 * resolved here, by the command that needs it (other commands must not read a secret file):
 * alerts.webhook.secret, else alerts.webhook.secretFile, else env TAPLINE_WEBHOOK_SECRET, so a
 * secret need never appear in a process list.
 */
import fs from 'node:fs';
import { resolveConfig, type TaplineConfig } from '../../../lib/config';
import { TaplineError } from '../../../lib/errors';
import type { AlertConsumerConfig } from '../../../lib/config/alert-consumers';

function invalid(msg: string): TaplineError { return new TaplineError('CONFIG_INVALID', 'alerts', msg); }

/** `--set` keys of `tapline alerts send` (relative to the alerts section) as configuration overrides. */
export function alertsOverrides(sets: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(sets).map(([k, v]) => [`alerts.${k}`, v]));
}

/** The consumers' settings from a loaded configuration, with the webhook secret resolved and checked. */
export function alertConsumerConfigFrom(cfg: TaplineConfig, env: NodeJS.ProcessEnv = process.env): AlertConsumerConfig {
  const alerts = cfg.alerts;
  let secret = alerts.webhook.secret;
  if (secret === undefined && alerts.webhook.secretFile) {
    try { secret = fs.readFileSync(alerts.webhook.secretFile, 'utf8').trim(); } catch (e) { throw invalid(`cannot read webhook.secretFile: ${(e as Error).message}`); }
  }
  if (secret === undefined && env.TAPLINE_WEBHOOK_SECRET) secret = env.TAPLINE_WEBHOOK_SECRET;
  if (secret !== undefined && secret.length < 16) throw invalid('webhook secret: at least 16 characters (32 random bytes recommended)');
  return { ...alerts, webhook: { ...alerts.webhook, secret } };
}

/**
 * The settings `tapline alerts send --set …` would give without a configuration file: `sets` are
 * its dotted keys (e.g. {'webhook.url': 'http://…', 'retry.maxAttempts': '3'}), `env` the environment.
 */
export function parseAlertConsumerConfig(sets: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AlertConsumerConfig {
  return alertConsumerConfigFrom(resolveConfig({}, env, alertsOverrides(sets), 'alert consumer settings'), env);
}
