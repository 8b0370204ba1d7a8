/**
 * `tapline probe-responder`: the endpoint probers measure (UDP echo + TCP accept/close).
 * `tapline probe <target...>`: measure from this machine and print one JSON ProbeResult per
 * line (the `probe` connector publishes the same records to Kafka in a pipeline).
 */
import type { Command } from 'commander';
import { ProbeConnector } from '../../connectors/probe/probe';
import { ProbeConfigSchema, parseTarget } from '../../connectors/probe/config';
import { ProbeResponder } from '../../connectors/probe/responder';
import { DEFAULT_PROBE_PORT } from '../../connectors/probe/wire';
import type { ProbeResult } from '../../schemas/probe-result';
import { portNumber, positiveInt } from '../options';

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function toJsonLine(r: ProbeResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v));
}

export function register(program: Command): void {
  program.command('probe-responder')
    .description('answer tapline probes: echo UDP probe datagrams and accept TCP connections on one port')
    .option('--host <addr>', 'address to bind', '0.0.0.0')
    .option('--port <n>', 'UDP and TCP port', portNumber('--port'), DEFAULT_PROBE_PORT)
    .action(async (opts: { host: string; port: number }) => {
      const r = new ProbeResponder({ host: opts.host, port: opts.port });
      await r.start();
      process.stdout.write(`probe responder listening on ${opts.host} udp/${r.udpPort} tcp/${r.tcpPort}\n`);
      await untilSignal();
      await r.close();
      process.stdout.write(`${JSON.stringify(r.stats)}\n`);
    });

  program.command('probe')
    .description('probe tapline responders (TCP connect time, UDP echo RTT and loss) and print one JSON result per interval')
    .argument('<targets...>', 'host:port of probe responders')
    .option('--kinds <list>', 'tcp,udp', 'tcp,udp')
    .option('--interval <ms>', 'interval length', positiveInt('--interval'), 1000)
    .option('--count <n>', 'intervals to run (default: until interrupted)', positiveInt('--count'))
    .option('--udp-packets <n>', 'UDP echo requests per interval', positiveInt('--udp-packets'), 10)
    .option('--tcp-connects <n>', 'TCP connection attempts per interval', positiveInt('--tcp-connects'), 1)
    .option('--timeout <ms>', 'a reply later than this is lost', positiveInt('--timeout'), 1000)
    .action(async (targets: string[], o: { kinds: string; interval: number; count?: number; udpPackets: number; tcpConnects: number; timeout: number }) => {
      const kinds = o.kinds.split(',').map((k) => k.trim()).filter(Boolean);
      const cfg = ProbeConfigSchema.parse({
        targets: targets.map((t) => ({ ...parseTarget(t), kinds })),
        intervalMs: o.interval, intervals: o.count, udpPacketsPerInterval: o.udpPackets, tcpConnectsPerInterval: o.tcpConnects, timeoutMs: o.timeout,
      });
      const c = new ProbeConnector(cfg, null, (r) => process.stdout.write(`${toJsonLine(r)}\n`));
      await c.start();
      if (o.count === undefined) await Promise.race([untilSignal(), c.done()]);
      else await c.done();
      await c.close();
    });
}
