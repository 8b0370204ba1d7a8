/**
 * Regression test from review: a corrupt classic-pcap header (snaplen field garbage) must not let a
 * corrupt record header make the reader buffer gigabytes before it notices the damage.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readCapture } from '.';

describe('pcap reader: a corrupt header snaplen', () => {
  it('a huge snaplen in the file header does not make a huge captured length acceptable (bounded memory)', async () => {
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(0xffffffff, 16); // snaplen: garbage
    hdr.writeUInt32LE(1, 20);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(0x7ffffff0, 8); // captured length: 2 GiB
    rec.writeUInt32LE(0x7ffffff0, 12);
    // an endless stream of bytes after it; more than 64 MiB read means the reader is buffering the "record"
    let produced = 0;
    const LIMIT = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1 << 20);
    const input = Readable.from((function* () {
      yield Buffer.concat([hdr, rec]);
      for (;;) {
        produced += chunk.length;
        if (produced > LIMIT) throw new Error(`reader consumed more than ${LIMIT} bytes for one record`);
        yield chunk;
      }
    })(), { objectMode: false });
    await assert.rejects(async () => { for await (const _ of readCapture(input)) { /* none */ } },
      (e: { code?: string; message: string }) => e.code === 'PCAP_CORRUPT' && /offset 24/.test(e.message));
    assert.ok(produced <= LIMIT);
  });
});
