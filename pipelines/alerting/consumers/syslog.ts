/**
 * syslog output: RFC 5424 messages over UDP (RFC 5426), one datagram per alert state.
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID k="v" ...] BOM summary
 * PRI = facility * 8 + severity (critical -> 2 crit, warning -> 4 warning, info -> 6 info;
 * a resolved state -> 5 notice). TIMESTAMP = the state's event time (microseconds, UTC),
 * MSGID = alert type. Written here (a few lines) since no syslog library is installed.
 */
import dgram from 'node:dgram';
import { ComponentMetrics } from '../../../lib/metrics';
import { errorMessage } from '../../../lib/errors';
import type { Alert } from '../../../schemas/alert';
import { SYSLOG_FACILITIES, type AlertConsumerConfig, type RetryPolicy } from '../../../lib/config/alert-consumers';
import { countOutcome, type AlertOutput, type DeliveryContext } from './output';
import { isoFromNs } from './payload';
import { deliverWithRetry, type AttemptResult, type DeliveryOutcome } from './retry';

export type SyslogSettings = AlertConsumerConfig['syslog'];

const SEVERITY: Record<Alert['severity'], number> = { critical: 2, warning: 4, info: 6 };
const NOTICE = 5;
const BOM = '\uFEFF';

export function syslogSeverity(a: Pick<Alert, 'severity' | 'state'>): number {
  return a.state === 'resolved' ? NOTICE : SEVERITY[a.severity];
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' are preceded by a backslash. */
export function sdEscape(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** TIMESTAMP with at most 6 fractional digits (TIME-SECFRAC = "." 1*6DIGIT). */
export function syslogTimestamp(ns: bigint | number): string {
  return isoFromNs(ns).replace(/\.(\d{6})\d{3}Z$/, '.$1Z');
}

const MAX_VALUE = 256;
const cap = (v: string): string => (v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE - 1)}…` : v);

/** SD-PARAMs in order of importance: the last ones are dropped first when a datagram is too long. */
function sdParams(a: Alert): [string, string][] {
  const p: [string, string | null][] = [
    ['id', a.id], ['state', a.state], ['severity', a.severity], ['type', a.type], ['dedup_key', a.dedup_key],
    ['tenant', a.tenant], ['vm_a', a.vm_a], ['vm_b', a.vm_b], ['host_a', a.host_a], ['host_b', a.host_b],
    ['addr_a', a.addr_a], ['addr_b', a.addr_b], ['metric', a.metric],
    ['value', a.value === null ? null : String(a.value)], ['threshold', a.threshold === null ? null : String(a.threshold)],
    ['baseline', a.baseline === null ? null : String(a.baseline)], ['detector', a.detector],
    ['first_seen', isoFromNs(a.first_seen_ns)], ['observation_point', a.observation_point],
  ];
  return p.filter((e): e is [string, string] => e[1] !== null && e[1] !== '').map(([k, v]) => [k, cap(v)]);
}

/** Cuts a UTF-8 string to at most `bytes` bytes without splitting a character. */
function cutUtf8(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= bytes) return s;
  let end = Math.max(0, bytes);
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--; // back to a character boundary
  return b.subarray(0, end).toString('utf8');
}

export function formatRfc5424(a: Alert, s: Pick<SyslogSettings, 'facility' | 'appName' | 'hostname' | 'sdId' | 'maxBytes'>, procId: number = process.pid): Buffer {
  const pri = SYSLOG_FACILITIES[s.facility] * 8 + syslogSeverity(a);
  const header = `<${pri}>1 ${syslogTimestamp(a.updated_ns)} ${s.hostname} ${s.appName} ${procId} ${a.type}`;
  const params = sdParams(a);
  const sd = (n: number) => `[${s.sdId}${params.slice(0, n).map(([k, v]) => ` ${k}="${sdEscape(v)}"`).join('')}]`;
  let n = params.length;
  // Keep the structure whole: drop trailing SD-PARAMs (but never id/state/severity) before the text.
  while (n > 3 && Buffer.byteLength(`${header} ${sd(n)} ${BOM}`) > s.maxBytes - 40) n--;
  const head = `${header} ${sd(n)} `;
  const room = s.maxBytes - Buffer.byteLength(head) - Buffer.byteLength(BOM);
  const text = cutUtf8(a.summary.replace(/[\r\n]+/g, ' '), room);
  return Buffer.from(`${head}${BOM}${text}`, 'utf8');
}

export class SyslogOutput implements AlertOutput {
  readonly name = 'syslog' as const;
  readonly metrics = new ComponentMetrics('alerts-syslog');
  private socket: dgram.Socket | null = null;

  constructor(private readonly s: SyslogSettings, private readonly retry: RetryPolicy) {}

  async start(): Promise<void> {
    const type = /^[0-9a-f:]+$/i.test(this.s.host) && this.s.host.includes(':') ? 'udp6' : 'udp4';
    this.socket = dgram.createSocket(type);
    this.socket.on('error', () => undefined); // send errors arrive through send()'s callback
    this.socket.unref();
  }

  private sendOnce(buf: Buffer): Promise<AttemptResult> {
    return new Promise((resolve) => {
      this.socket!.send(buf, this.s.port, this.s.host, (e) => resolve(e
        ? { ok: false, retriable: true, code: 'NETWORK', reason: `syslog ${this.s.host}:${this.s.port}: ${errorMessage(e)}` }
        : { ok: true }));
    });
  }

  async deliver(alert: Alert, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const buf = formatRfc5424(alert, this.s);
    const outcome = await deliverWithRetry(() => this.sendOnce(buf), this.retry, {
      signal: ctx.signal, heartbeat: ctx.heartbeat, onAttemptFailed: (r) => this.metrics.error(r.code),
    });
    countOutcome(this.metrics, outcome);
    return outcome;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
