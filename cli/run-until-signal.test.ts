import assert from 'node:assert/strict';
import net from 'node:net';
import { runUntilSignal } from './run-until-signal';
import { parseConfig } from '../lib/config';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const c = net.connect(port, '127.0.0.1');
  c.once('connect', () => { c.destroy(); resolve(true); });
  c.once('error', () => resolve(false));
});

describe('runUntilSignal', () => {
  it('closes the /metrics endpoint even when closing the component fails (else the process never exits)', async () => {
    const port = await freePort();
    const cfg = parseConfig({ metrics: { port } });
    await assert.rejects(runUntilSignal(cfg, 'test', Promise.resolve(), async () => { throw new Error('close failed'); }), /close failed/);
    assert.equal(await accepts(port), false, 'metrics server still listening after a failed close');
  });
});
