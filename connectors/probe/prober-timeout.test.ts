import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { ProbeResult } from '../../schemas/probe-result';
import { ProbeConfigSchema } from './config';
import { ProbeConnector } from './probe';

describe('prober timeout', function () {
  this.timeout(20_000);

  it('a UDP echo later than timeoutMs is lost even while its interval is still sending', async () => {
    // answers every other probe 300 ms late; with 4 probes spread over 2 s and a 100 ms timeout the
    // late echoes arrive while the interval is still sending (that must not make them count)
    const slow = dgram.createSocket('udp4');
    await new Promise<void>((r) => slow.bind(0, '127.0.0.1', () => r()));
    let n = 0;
    const timers: NodeJS.Timeout[] = [];
    slow.on('message', (m, ri) => { if (n++ % 2 === 0) slow.send(m, ri.port, ri.address); else timers.push(setTimeout(() => slow.send(m, ri.port, ri.address), 300)); });
    const results: ProbeResult[] = [];
    try {
      const c = new ProbeConnector(ProbeConfigSchema.parse({
        targets: [{ host: '127.0.0.1', port: slow.address().port, kinds: ['udp'] }],
        intervalMs: 2000, intervals: 1, udpPacketsPerInterval: 4, timeoutMs: 100,
      }), null, (r) => results.push(r));
      await c.start();
      await c.done();
      await c.close();
    } finally {
      timers.forEach(clearTimeout);
      slow.close();
    }
    assert.equal(results.length, 1);
    const r = results[0];
    assert.equal(r.sent, 4);
    assert.equal(r.received, 2, `received ${r.received}: RTTs ${r.rtt_samples_ns.join(',')}`);
    assert.equal(r.lost, 2);
    for (const s of r.rtt_samples_ns) assert.ok(BigInt(s) < 100_000_000n, `rtt ${s} ns above the 100 ms timeout`);
  });
});
