/**
 * Configuration of the alert consumers (zod): the `alerts` section of tapline's configuration
 * (lib/config/schema.ts), so it comes from the file, TAPLINE__alerts__* variables and
 * `tapline alerts send --set key=value` like every other section (settings.ts). A wrong key or
 * value is a CONFIG_INVALID error naming the path.
 */
import os from 'node:os';
import { z } from 'zod';
import { TaplineError } from '../errors';
import { ALERT_TOPIC } from '../../schemas/alert';

export const OUTPUT_NAMES = ['webhook', 'alertmanager', 'stdout', 'syslog'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

// --set values arrive as text: numbers are coerced (and then checked like any number).
const num = () => z.coerce.number();
const httpUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL');

export const RetrySchema = z.object({
  maxAttempts: num().int().min(1).max(100).default(5).describe('attempts per record and output before it is dead-lettered'),
  initialDelayMs: num().int().min(1).default(500).describe('backoff before the 2nd attempt; doubles each attempt'),
  maxDelayMs: num().int().min(1).default(30_000).describe('cap of the exponential backoff'),
  maxRetryAfterMs: num().int().min(0).default(120_000).describe('a longer Retry-After is cut to this'),
  timeoutMs: num().int().min(100).default(10_000).describe('one HTTP attempt (connect + response) at most this long'),
}).strict().refine((r) => r.maxDelayMs >= r.initialDelayMs, { message: 'maxDelayMs must be >= initialDelayMs' });
export type RetryPolicy = z.infer<typeof RetrySchema>;

export const SYSLOG_FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;

export const AlertConsumerConfigSchema = z.object({
  topic: z.string().min(1).default(ALERT_TOPIC),
  groupId: z.string().min(1).optional().describe('consumer group; default tapline-alerts-<outputs>'),
  deadLetterTopic: z.string().min(1).default('tapline.deadletter.v1').describe('undecodable records (poison)'),
  failedTopic: z.string().min(1).default('tapline.alerts.deadletter.v1').describe('alerts an output could not deliver'),
  retry: RetrySchema.default({}),
  webhook: z.object({
    url: httpUrl.optional(),
    secret: z.string().min(16, 'at least 16 characters (32 random bytes recommended)').optional()
      .describe('HMAC-SHA256 key; or env TAPLINE_WEBHOOK_SECRET, or secretFile'),
    secretFile: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}).describe('extra request headers, e.g. Authorization'),
  }).strict().default({}),
  alertmanager: z.object({
    url: httpUrl.optional().describe('Alertmanager base URL, e.g. http://127.0.0.1:9093'),
    resendIntervalMs: num().int().min(1_000).default(60_000).describe('open alerts are re-sent this often'),
    endsAtGraceMs: num().int().min(1_000).default(300_000).describe('endsAt of an open alert = now + this'),
    generatorUrl: httpUrl.optional().describe('back-link shown in Alertmanager (e.g. the dashboard)'),
    labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()).default({}).describe('extra labels on every alert'),
  }).strict().default({}),
  syslog: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: num().int().min(1).max(65535).default(514),
    facility: z.enum(Object.keys(SYSLOG_FACILITIES) as [keyof typeof SYSLOG_FACILITIES]).default('local0'),
    appName: z.string().regex(/^[!-~]{1,48}$/, '1-48 printable ASCII characters').default('tapline'),
    hostname: z.string().regex(/^[!-~]{1,255}$/, '1-255 printable ASCII characters').default(os.hostname() || 'tapline'),
    sdId: z.string().regex(/^[!-~]{1,32}$/).refine((v) => !/[= \]"]/.test(v) && /@\d+$/.test(v), 'name@<private enterprise number>')
      .default('tapline@32473').describe('SD-ID of the structured data; 32473 is the documentation PEN (RFC 5612): set your own'),
    maxBytes: num().int().min(480).max(65_000).default(2048).describe('longer messages have their text cut (RFC 5426: 480 must work, 2048 should)'),
  }).strict().default({}),
}).strict().refine((c) => c.alertmanager.endsAtGraceMs > c.alertmanager.resendIntervalMs,
  { message: 'alertmanager.endsAtGraceMs must exceed alertmanager.resendIntervalMs (else alerts flap between re-sends)', path: ['alertmanager', 'endsAtGraceMs'] });

export type AlertConsumerConfig = z.infer<typeof AlertConsumerConfigSchema>;

function invalid(msg: string): TaplineError { return new TaplineError('CONFIG_INVALID', 'alerts', msg); }

/** The settings an output cannot run without, checked before anything is started. */
export function assertOutputsConfigured(cfg: AlertConsumerConfig, outputs: OutputName[]): void {
  if (outputs.length === 0) throw invalid(`no output given (outputs: ${OUTPUT_NAMES.join(', ')})`);
  for (const o of outputs) if (!OUTPUT_NAMES.includes(o)) throw invalid(`unknown output "${o}" (outputs: ${OUTPUT_NAMES.join(', ')})`);
  if (new Set(outputs).size !== outputs.length) throw invalid(`an output is listed twice: ${outputs.join(',')}`);
  if (outputs.includes('webhook')) {
    if (!cfg.webhook.url) throw invalid('webhook needs webhook.url (--set webhook.url=https://… or alerts.webhook.url in the configuration)');
    if (!cfg.webhook.secret) throw invalid('webhook needs a signing secret: env TAPLINE_WEBHOOK_SECRET, or webhook.secretFile / webhook.secret (--set or the configuration\'s alerts section)');
  }
  if (outputs.includes('alertmanager') && !cfg.alertmanager.url) throw invalid('alertmanager needs alertmanager.url (--set alertmanager.url=http://127.0.0.1:9093 or alerts.alertmanager.url in the configuration)');
}
