/**
 * Byte source for the capture readers: turns a file path or a readable stream (optionally
 * gzip-compressed, detected by its magic 1f 8b) into a window of bytes that the format parsers
 * consume record by record. Memory stays bounded: only the unread tail of the current chunk plus
 * the chunk(s) needed for the record being parsed are held, and nothing is read ahead of the
 * consumer because the chunk iterator is only advanced from `fill()`.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { TaplineError } from '../errors';

const EMPTY = Buffer.alloc(0);
/** Large chunks amortise the per-chunk concat/await cost; 1 MiB is still a small, fixed bound. */
const CHUNK = 1 << 20;

function toBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TaplineError('IO', 'pcap', 'capture stream yielded a non-binary chunk');
}

export class ByteSource {
  /** Current window; bytes before `pos` are consumed. */
  buf: Buffer = EMPTY;
  pos = 0;
  /** Absolute offset (in the decompressed stream) of buf[0]. */
  private base = 0;
  private eof = false;
  gzip = false;

  private constructor(private readonly it: AsyncIterator<unknown>, private readonly cleanup: () => void) {}

  static async open(input: NodeJS.ReadableStream | string): Promise<ByteSource> {
    let raw: NodeJS.ReadableStream;
    if (typeof input === 'string') {
      try {
        await fs.promises.access(input, fs.constants.R_OK);
      } catch (e) {
        throw new TaplineError('IO', 'pcap', `cannot read capture file ${input}: ${(e as Error).message}`, { cause: e });
      }
      raw = fs.createReadStream(input, { highWaterMark: CHUNK });
    } else {
      raw = input;
    }
    const rawIt = (raw as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const destroyRaw = () => (raw as Readable).destroy?.();
    // Peek at the first bytes (a pipe may deliver a 1-byte first chunk) to detect gzip.
    const head: Buffer[] = [];
    let headLen = 0;
    let rawDone = false;
    while (headLen < 2) {
      const r = await rawIt.next();
      if (r.done) { rawDone = true; break; }
      const b = toBuffer(r.value);
      head.push(b);
      headLen += b.length;
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head);
    if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      // Feed the peeked bytes and the rest of the raw stream through gunzip; pipeline()
      // propagates errors (e.g. a cut-off gzip member) to the gunzip iterator.
      const feed = Readable.from((async function* () {
        yield first;
        if (rawDone) return;
        for (;;) {
          const r = await rawIt.next();
          if (r.done) return;
          yield toBuffer(r.value);
        }
      })(), { objectMode: false });
      const gz = zlib.createGunzip({ chunkSize: 256 * 1024 });
      pipeline(feed, gz, () => { /* errors surface through the gunzip iterator */ });
      const src = new ByteSource(gz[Symbol.asyncIterator](), () => { gz.destroy(); destroyRaw(); });
      src.gzip = true;
      return src;
    }
    // Plain stream: replay the peeked chunk, then continue with the raw iterator.
    let replay: Buffer | null = first.length ? first : null;
    const it: AsyncIterator<unknown> = {
      next: async () => {
        if (replay) { const b = replay; replay = null; return { done: false, value: b }; }
        if (rawDone) return { done: true, value: undefined };
        return rawIt.next();
      },
    };
    return new ByteSource(it, destroyRaw);
  }

  /** Unconsumed bytes in the window. */
  avail(): number {
    return this.buf.length - this.pos;
  }

  /** Absolute stream offset of the next unconsumed byte. */
  offset(): number {
    return this.base + this.pos;
  }

  /**
   * Make at least `n` unconsumed bytes available. Returns false at end of stream when fewer
   * exist (the window then holds whatever was left). Callers test `avail()` first so the common
   * case (record already buffered) costs no await.
   */
  async fill(n: number): Promise<boolean> {
    if (this.buf.length - this.pos >= n) return true;
    const parts: Buffer[] = [];
    let have = this.buf.length - this.pos;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    while (have < n && !this.eof) {
      let r: IteratorResult<unknown>;
      try {
        r = await this.it.next();
      } catch (e) {
        this.eof = true;
        const where = this.base + this.buf.length;
        if (this.gzip) {
          throw new TaplineError('PCAP_CORRUPT', 'pcap', `gzip stream corrupt or cut short near decompressed offset ${where}: ${(e as Error).message}`, { cause: e });
        }
        throw new TaplineError('IO', 'pcap', `reading capture failed at offset ${where}: ${(e as Error).message}`, { cause: e });
      }
      if (r.done) { this.eof = true; break; }
      const b = toBuffer(r.value);
      if (b.length === 0) continue;
      parts.push(b);
      have += b.length;
    }
    this.base += this.pos;
    this.pos = 0;
    this.buf = parts.length === 1 ? parts[0] : parts.length === 0 ? EMPTY : Buffer.concat(parts, have);
    return have >= n;
  }

  close(): void {
    this.cleanup();
  }
}
