/**
 * The tapline probe responder, run on each VM that probers measure: echoes tapline UDP probe
 * datagrams back to their sender and accepts TCP connections (closing them at once), on the
 * same port number for both. `tapline probe-responder --port N` runs one.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { TaplineError } from '../../lib/errors';
import { logger } from '../../lib/log';
import { ComponentMetrics } from '../../lib/metrics';
import { decodeProbe, DEFAULT_PROBE_PORT } from './wire';

export interface ResponderOptions {
  host?: string;
  /** UDP and TCP port (default 7040; 0 = any free port, the TCP port then follows the UDP one when free) */
  port?: number;
  udp?: boolean;
  tcp?: boolean;
}

export class ProbeResponder {
  readonly metrics = new ComponentMetrics('probe-responder');
  readonly stats = { echoed: 0, ignored: 0, accepted: 0 };
  private readonly log = logger('probe-responder');
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  udpPort = 0;
  tcpPort = 0;

  constructor(private readonly opts: ResponderOptions = {}) {}

  async start(): Promise<void> {
    const host = this.opts.host ?? '0.0.0.0';
    const port = this.opts.port ?? DEFAULT_PROBE_PORT;
    // Port 0 with both protocols: the UDP port the kernel picks may be in use for TCP (say, as
    // the local port of some client connection), so a collision there means: pick again.
    const attempts = port === 0 && this.opts.udp !== false && this.opts.tcp !== false ? 20 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.listen(host, port);
        break;
      } catch (e) {
        await this.close();
        if (attempt < attempts && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw new TaplineError('IO', 'probe-responder', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
      }
    }
    this.log.info({ host, udpPort: this.udpPort, tcpPort: this.tcpPort }, 'probe responder listening');
  }

  /** Binds the UDP echo socket and the TCP listener (the TCP one on the UDP port when `port` is 0). */
  private async listen(host: string, port: number): Promise<void> {
    if (this.opts.udp !== false) {
      const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(port, host, () => { sock.off('error', reject); resolve(); }); });
      sock.on('message', (msg, rinfo) => {
        this.metrics.received();
        if (!decodeProbe(msg)) { this.stats.ignored++; this.metrics.dropped('not-a-probe'); return; }
        sock.send(msg, rinfo.port, rinfo.address, (e) => {
          if (e) { this.metrics.error('IO'); return; }
          this.stats.echoed++;
          this.metrics.sent();
        });
      });
      sock.on('error', (e) => { this.metrics.error('IO'); this.log.warn({ err: e.message }, 'responder udp error'); });
      this.udp = sock;
      this.udpPort = sock.address().port;
    }
    if (this.opts.tcp !== false) {
      const server = net.createServer((c) => {
        this.stats.accepted++;
        this.metrics.received();
        this.conns.add(c);
        c.on('error', () => undefined);
        c.on('close', () => this.conns.delete(c));
        c.end();
      });
      const tcpPort = this.udp && port === 0 ? this.udpPort : port;
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(tcpPort, host, () => { server.off('error', reject); resolve(); }); });
      this.tcp = server;
      const a = server.address();
      this.tcpPort = typeof a === 'object' && a ? a.port : tcpPort;
    }
  }

  async close(): Promise<void> {
    const u = this.udp; this.udp = null;
    const t = this.tcp; this.tcp = null;
    if (u) await new Promise<void>((r) => u.close(() => r()));
    if (t) {
      for (const c of this.conns) c.destroy();
      await new Promise<void>((r) => t.close(() => r()));
    }
  }
}
