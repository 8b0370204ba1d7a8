import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KafkaClient, OutMessage } from '../../lib/kafka';
import { PcapFileConfigSchema } from './config';
import { PcapFileConnector } from './pcap-file';

class FakeProducer {
  readonly sent: OutMessage[] = [];
  async connect(): Promise<void> { /* nothing */ }
  async close(): Promise<void> { /* nothing */ }
  async partitionCount(): Promise<number> { return 1; }
  async send(_t: string, m: OutMessage[]): Promise<void> { this.sent.push(...m); }
}

/** Classic pcap with one small Ethernet/IPv4 frame per timestamp (seconds). */
function capture(secs: number[]): Buffer {
  const frame = Buffer.alloc(60);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45; frame.writeUInt16BE(46, 16); frame[23] = 17;
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(1, 20);
  parts.push(h);
  for (const s of secs) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + s, 0); r.writeUInt32LE(frame.length, 8); r.writeUInt32LE(frame.length, 12);
    parts.push(r, frame);
  }
  return Buffer.concat(parts);
}

describe('pcap-file connector', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-pcapfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('close() stops a real-time replay promptly instead of waiting for the next packet\'s time', async () => {
    const file = path.join(dir, 'gap.pcap');
    fs.writeFileSync(file, capture([0, 3600, 7200])); // packets an hour apart
    const prod = new FakeProducer();
    const kafka = { producer: () => prod } as unknown as KafkaClient;
    const c = new PcapFileConnector(PcapFileConfigSchema.parse({ path: file, speed: 1 }), kafka);
    await c.start();
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const closed = c.close();
    const timedOut = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 2000).unref())]);
    assert.equal(timedOut, false, 'close() did not return within 2 s of a paced replay');
    assert.ok(Date.now() - t0 < 2000);
    await c.close(); // twice is fine
  });
});
