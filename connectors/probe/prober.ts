/**
 * Active measurement from this VM to others. For every target and kind one loop runs intervals
 * of `intervalMs`:
 * - UDP_ECHO: `udpPacketsPerInterval` sequence-numbered datagrams spread over the interval; a
 *   reply counts when it arrives within `timeoutMs` of its request; RTT = t_receive - t_send
 *   (process.hrtime.bigint). The interval closes when every request is answered or timed out,
 *   so sent/received/lost are exact; a reply arriving later is counted as late, never as received.
 * - TCP_CONNECT: `tcpConnectsPerInterval` connection attempts; RTT = connect completion -
 *   connect() call (which sends the SYN; names are resolved before the clock starts).
 * Each closed interval becomes one ProbeResult, handed to onResult.
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../lib/log';
import type { ComponentMetrics } from '../../lib/metrics';
import type { ProbeKind, ProbeResult } from '../../schemas/probe-result';
import { HrWallClock } from '../udp/clock';
import { decodeProbe, encodeProbe } from './wire';

export interface ProbeTarget { host: string; port: number; kinds: Array<'tcp' | 'udp'> }

export interface ProberOptions {
  prober: string;
  targets: ProbeTarget[];
  intervalMs: number;
  udpPacketsPerInterval: number;
  tcpConnectsPerInterval: number;
  timeoutMs: number;
  udpPayloadBytes: number;
  /** stop after this many intervals per target and kind (default: until stop()) */
  intervals?: number;
}

/** Summary statistics over RTT samples (ns). */
export function rttStats(samples: bigint[]): { min: bigint | null; mean: bigint | null; max: bigint | null } {
  if (samples.length === 0) return { min: null, mean: null, max: null };
  let min = samples[0]; let max = samples[0]; let sum = 0n;
  for (const s of samples) { if (s < min) min = s; if (s > max) max = s; sum += s; }
  return { min, mean: sum / BigInt(samples.length), max };
}

interface UdpInterval {
  sentAt: Map<number, bigint>;
  rtt: Map<number, bigint>;
  sent: number;
  sending: boolean;
  open: boolean;
  error: string | null;
  wake: (() => void) | null;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
}

export class Prober {
  /** replies that arrived after their interval closed, duplicates, foreign datagrams */
  readonly stats = { late: 0, duplicates: 0, foreign: 0, results: 0 };
  private readonly log = logger('probe');
  private readonly clock = new HrWallClock();
  private readonly stop = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: ProberOptions, private readonly metrics: ComponentMetrics,
    private readonly onResult: (r: ProbeResult) => void) {}

  start(): void {
    if (this.loops.length) return;
    for (const t of this.opts.targets) {
      for (const kind of t.kinds) this.loops.push((kind === 'udp' ? this.udpLoop(t) : this.tcpLoop(t)).catch((e) => {
        this.metrics.error('INTERNAL');
        this.log.error({ err: (e as Error).message, target: `${t.host}:${t.port}` }, 'probe loop failed');
      }));
    }
  }

  /** Resolves when every loop has finished (after `intervals`, or after stop()). */
  finished(): Promise<void> {
    return Promise.all(this.loops).then(() => undefined);
  }

  /** Stops starting intervals; the ones running finish (at most intervalMs + timeoutMs). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.finished();
  }

  private get stopped(): boolean { return this.stop.signal.aborted; }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return;
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }

  /** Runs `body` at t0, t0 + interval, ... (never overlapping its own send phase). */
  private async schedule(body: (i: number) => Promise<void>): Promise<void> {
    const t0 = process.hrtime.bigint();
    const every = BigInt(this.opts.intervalMs) * 1_000_000n;
    for (let i = 0; this.opts.intervals === undefined || i < this.opts.intervals; i++) {
      if (this.stopped) break;
      const due = t0 + BigInt(i) * every;
      await this.pause(Number((due - process.hrtime.bigint()) / 1_000_000n));
      if (this.stopped) break;
      await body(i);
    }
  }

  private emit(kind: ProbeKind, t: ProbeTarget, startNs: bigint, sent: number, samples: bigint[], error: string | null): void {
    const s = rttStats(samples);
    const r: ProbeResult = {
      prober: this.opts.prober, target: `${t.host}:${t.port}`, kind,
      interval_start_ns: startNs, interval_end_ns: this.clock.now(),
      sent, received: samples.length, lost: sent - samples.length,
      rtt_min_ns: s.min, rtt_mean_ns: s.mean, rtt_max_ns: s.max, rtt_samples_ns: samples, error,
    };
    this.stats.results++;
    this.onResult(r);
  }

  private async udpLoop(t: ProbeTarget): Promise<void> {
    const family = net.isIPv6(t.host) ? 6 : 4;
    const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const session = crypto.randomBytes(4).readUInt32BE(0);
    const owner = new Map<number, UdpInterval>();
    let nextSeq = 0;
    sock.on('message', (msg) => {
      const tr = process.hrtime.bigint();
      const p = decodeProbe(msg);
      if (!p || p.session !== session) { this.stats.foreign++; return; }
      const iv = owner.get(p.seq);
      if (!iv || !iv.open) { this.stats.late++; this.metrics.dropped('late-reply'); return; }
      if (iv.rtt.has(p.seq)) { this.stats.duplicates++; return; }
      const rtt = tr - iv.sentAt.get(p.seq)!;
      // the interval is open until its last request timed out; an earlier request's reply may be late already
      if (rtt > BigInt(this.opts.timeoutMs) * 1_000_000n) { this.stats.late++; this.metrics.dropped('late-reply'); return; }
      iv.rtt.set(p.seq, rtt);
      if (!iv.sending && iv.rtt.size === iv.sent) iv.wake?.();
    });
    sock.on('error', (e) => { this.log.debug({ err: e.message }, 'probe udp socket error'); });
    await new Promise<void>((r) => sock.bind(0, () => r()));
    const pending: Promise<void>[] = [];
    try {
      await this.schedule(async () => {
        const startNs = this.clock.now();
        const host = await this.resolve(t.host, family);
        const iv: UdpInterval = { sentAt: new Map(), rtt: new Map(), sent: 0, sending: true, open: true, error: null, wake: null };
        const n = this.opts.udpPacketsPerInterval;
        const spacing = this.opts.intervalMs / n;
        const first = process.hrtime.bigint();
        for (let k = 0; k < n; k++) {
          if (k > 0) await this.pauseUntil(first, k * spacing);
          const seq = nextSeq++ >>> 0;
          const buf = encodeProbe(session, seq, this.opts.udpPayloadBytes);
          owner.set(seq, iv);
          iv.sentAt.set(seq, process.hrtime.bigint());
          iv.sent++;
          try {
            await new Promise<void>((resolve, reject) => sock.send(buf, t.port, host, (e) => (e ? reject(e) : resolve())));
          } catch (e) {
            iv.error = errCode(e); // a local send failure is a lost probe
          }
        }
        iv.sending = false;
        // collect in the background: the next interval's sends start on schedule
        pending.push((async () => {
          if (iv.rtt.size < iv.sent) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, this.opts.timeoutMs);
              iv.wake = () => { clearTimeout(timer); resolve(); };
            });
          }
          iv.open = false;
          for (const seq of iv.sentAt.keys()) setTimeout(() => owner.delete(seq), this.opts.timeoutMs * 4).unref();
          const samples = [...iv.sentAt.keys()].filter((s) => iv.rtt.has(s)).map((s) => iv.rtt.get(s)!);
          if (samples.length < iv.sent && iv.error === null) iv.error = 'timeout';
          this.emit('UDP_ECHO', t, startNs, iv.sent, samples, iv.error);
        })());
      });
      await Promise.all(pending);
    } finally {
      sock.close();
    }
  }

  private async pauseUntil(base: bigint, offsetMs: number): Promise<void> {
    const due = base + BigInt(Math.round(offsetMs * 1e6));
    const ms = Number(due - process.hrtime.bigint()) / 1e6;
    if (ms > 0) await sleep(ms);
  }

  /** Names are resolved before the clock starts (UDP: in the socket's family; TCP: any). */
  private async resolve(host: string, family: 0 | 4 | 6 = 0): Promise<string> {
    if (net.isIP(host)) return host;
    try { return (await dns.lookup(host, { family })).address; } catch { return host; }
  }

  private async tcpLoop(t: ProbeTarget): Promise<void> {
    await this.schedule(async () => {
      const startNs = this.clock.now();
      const n = this.opts.tcpConnectsPerInterval;
      const spacing = this.opts.intervalMs / n;
      const samples: bigint[] = [];
      let error: string | null = null;
      const host = await this.resolve(t.host);
      const first = process.hrtime.bigint();
      for (let k = 0; k < n; k++) {
        if (k > 0) await this.pauseUntil(first, k * spacing);
        const r = await this.connectOnce(host, t.port);
        if (typeof r === 'bigint') samples.push(r); else error = r;
      }
      this.emit('TCP_CONNECT', t, startNs, n, samples, error);
    });
  }

  /** One connection attempt: its RTT in ns, or the failure. */
  private connectOnce(host: string, port: number): Promise<bigint | string> {
    return new Promise((resolve) => {
      let done = false;
      const t0 = process.hrtime.bigint();
      const sock = net.connect({ host, port, noDelay: true });
      const finish = (v: bigint | string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(v);
      };
      const timer = setTimeout(() => finish('timeout'), this.opts.timeoutMs);
      sock.once('connect', () => finish(process.hrtime.bigint() - t0));
      sock.once('error', (e) => finish(errCode(e)));
    });
  }
}
