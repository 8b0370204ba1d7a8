import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { PacketSummary } from '../../schemas/types';
import { MirrorConnector, type PacketSink } from '../mirror/mirror';
import { MirrorConfigSchema } from '../mirror/config';

class SlowOpenSink implements PacketSink {
  readonly got: PacketSummary[] = [];
  add(p: PacketSummary): null { this.got.push(p); return null; }
  async flush(): Promise<void> { /* nothing queued */ }
}

/** A mirror connector whose sinks take a while to open (like a Kafka producer connecting). */
class SlowStartMirror extends MirrorConnector {
  protected override async openSinks() {
    await new Promise((r) => setTimeout(r, 50));
    return super.openSinks();
  }
}

describe('udp source lifecycle', () => {
  it('close() while start() is still opening its sinks leaves no socket or timer behind', async () => {
    const sink = new SlowOpenSink();
    const c = new SlowStartMirror(MirrorConfigSchema.parse({ host: '127.0.0.1', port: 0 }), null, sink);
    const started = c.start().catch((e: unknown) => e);
    await c.close();
    await started;
    await c.close();
    // a datagram to the port start() may have bound must not be received any more
    if (c.port !== 0) {
      const s = dgram.createSocket('udp4');
      const vx = Buffer.concat([Buffer.from('0800000000007b00', 'hex'), Buffer.alloc(60)]);
      await new Promise<void>((r) => s.send(vx, c.port, '127.0.0.1', () => r()));
      s.close();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(c.stats.datagrams, 0, 'the receiver kept receiving after close()');
    // and the port is free again
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.bind(c.port, '127.0.0.1', () => resolve()); });
    probe.close();
  });
});
