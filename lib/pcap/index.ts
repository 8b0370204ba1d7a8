/**
 * Streaming capture reader: pcap (µs/ns, both byte orders), pcapng, either optionally gzipped.
 *
 *   for await (const rec of readCapture('/path/file.pcap')) { ... }
 *
 * The generator pulls input only as the consumer asks for records, so memory stays bounded
 * and a slow consumer slows the reading. A corrupt or truncated file yields every complete
 * record before the damage and then throws TaplineError('PCAP_CORRUPT') naming the byte offset.
 * Files that are not captures (unknown magic, unsupported version) throw PCAP_UNSUPPORTED.
 */
import { TaplineError } from '../errors';
import { ByteSource } from './source';
import { parsePcapHeader, PcapParser } from './pcap';
import { pcapngRecords } from './pcapng';
import type { CaptureRecord } from './types';

export type { CaptureRecord } from './types';
export { MAX_SNAPLEN, LINKTYPE_MASK } from './pcap';

export async function* readCapture(input: NodeJS.ReadableStream | string): AsyncGenerator<CaptureRecord> {
  const src = await ByteSource.open(input);
  try {
    const parser = await detect(src);
    if (parser === null) {
      yield* pcapngRecords(src);
      return;
    }
    for (;;) {
      const rec = parser.next();
      if (rec !== null) { yield rec; continue; }
      if (!(await src.fill(parser.need()))) { parser.eof(); return; }
    }
  } finally {
    src.close();
  }
}

/**
 * Same records as readCapture, in arrays of up to `maxBatch`: one async step per batch instead
 * of per record, for consumers that process records synchronously (several times faster for
 * classic pcap). A corrupt file still yields every good record (in a final batch) before throwing.
 */
export async function* readCaptureBatches(input: NodeJS.ReadableStream | string, maxBatch = 4096): AsyncGenerator<CaptureRecord[]> {
  const src = await ByteSource.open(input);
  try {
    const parser = await detect(src);
    if (parser === null) {
      let batch: CaptureRecord[] = [];
      try {
        for await (const r of pcapngRecords(src)) {
          batch.push(r);
          if (batch.length >= maxBatch) { yield batch; batch = []; }
        }
      } catch (e) {
        if (batch.length) yield batch;
        throw e;
      }
      if (batch.length) yield batch;
      return;
    }
    for (;;) {
      const batch: CaptureRecord[] = [];
      let err: unknown = null;
      try {
        while (batch.length < maxBatch) {
          const r = parser.next();
          if (r === null) break;
          batch.push(r);
        }
      } catch (e) { err = e; }
      if (batch.length) yield batch;
      if (err !== null) throw err;
      if (batch.length < maxBatch && !(await src.fill(parser.need()))) { parser.eof(); return; }
    }
  } finally {
    src.close();
  }
}

/** Read the file header: a PcapParser for classic pcap, null for pcapng (block parser takes over). */
async function detect(src: ByteSource): Promise<PcapParser | null> {
  if (!(await src.fill(4))) {
    throw new TaplineError('PCAP_CORRUPT', 'pcap', `file too short for a capture header: ${src.avail()} bytes at offset 0`);
  }
  const magic = src.buf.readUInt32LE(src.pos);
  if (magic === 0x0a0d0d0a) return null;
  if (!(await src.fill(24))) {
    // Distinguish "not a capture" from "a pcap header cut short".
    parsePcapHeaderMagicOnly(magic);
    throw new TaplineError('PCAP_CORRUPT', 'pcap', `truncated pcap file header: ${src.avail()} of 24 bytes at offset 0`);
  }
  return new PcapParser(src, parsePcapHeader(src));
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1]);
function parsePcapHeaderMagicOnly(magic: number): void {
  if (!PCAP_MAGICS.has(magic)) {
    throw new TaplineError('PCAP_UNSUPPORTED', 'pcap', `not a pcap/pcapng file (magic 0x${magic.toString(16)}) at offset 0`);
  }
}

/** Convenience for tests and small files: all records of a capture, in order. */
export async function readAll(input: NodeJS.ReadableStream | string): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = [];
  for await (const r of readCapture(input)) out.push(r);
  return out;
}
