/**
 * The capture in a helper process (the default, `isolate: true`): openCapChild() in tapline,
 * runCaptureChild() in the helper.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { TaplineError, errorMessage, type ErrorCode } from '../../lib/errors';
import { loadCapAddon, openCapDevice, type LiveCapture, type OpenCaptureOptions } from './device';
import { anchoredClock, dropPrivileges } from './host';

const STAGE = 'pcap-live';

// ---------------------------------------------------------------------------------------------
// The capture in a helper process (the default, `isolate: true`).
//
// cap 0.2.1 aborts its whole process (an assert in its poll callback) when the device goes down
// or disappears while open — a VM port that is deleted, a migration — and crashes on the
// destructor bug above. A helper process that only captures confines both: tapline sees the
// helper die, reports it and reopens the device. The helper also keeps cap's per-packet loop
// (which runs for as long as frames are waiting) off tapline's event loop, so Kafka keeps being
// served under a flood.
//
// Helper -> tapline: frames on fd 3 as records [u32 captured length][u32 flags: 1 = truncated]
// [u64 timestamp ns][frame], written in chunks; control messages on the IPC channel. The helper
// stamps each frame in its packet event and drops (counting, reason pipe-full) when more than
// maxPipeBytes wait to be read: it never blocks on tapline.

const REC_HDR = 16;
const CHUNK_BYTES = 256 * 1024;

export interface ChildCaptureOptions extends OpenCaptureOptions {
  /** bytes of frames allowed to wait for tapline before the helper drops (default 8 MiB) */
  maxPipeBytes?: number;
}

type ChildMsg =
  | { t: 'open'; linkType: number; uid: number | null }
  | { t: 'error'; code: string; message: string }
  | { t: 'drops'; drops: Record<string, number> };

/** Opens the device in a helper process (see above); resolves once it captures. */
export function openCapChild(o: ChildCaptureOptions): Promise<LiveCapture> {
  // Fail fast, and with the same error, when the addon cannot load at all.
  loadCapAddon();
  const viaTsx = __filename.endsWith('.ts');
  const args = [...(viaTsx ? ['--require', require.resolve('tsx/cjs')] : []),
    '-e', `require(${JSON.stringify(__filename)}).runCaptureChild()`];
  // cap's abort would leave a core file in the working directory where core dumps are enabled
  const child = spawn('/bin/sh', ['-c', 'ulimit -c 0 2>/dev/null; exec "$0" "$@"', process.execPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, TAPLINE_PCAP_CHILD: JSON.stringify(o) },
  });
  const frames = child.stdio[3] as Readable;
  let packetCb: ((frame: Buffer, truncated: boolean, ts: bigint) => void) | null = null;
  let dropsCb: ((reason: string, n: number) => void) | null = null;
  let failureCb: ((err: Error) => void) | null = null;
  const reported = new Map<string, number>();
  let closing = false;
  let rest: Buffer | null = null;

  frames.on('data', (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= REC_HDR) {
      const len = buf.readUInt32LE(off);
      if (buf.length - off < REC_HDR + len) break;
      packetCb?.(buf.subarray(off + REC_HDR, off + REC_HDR + len), (buf.readUInt32LE(off + 4) & 1) !== 0, buf.readBigUInt64LE(off + 8));
      off += REC_HDR + len;
    }
    rest = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  });
  const framesEnded = new Promise<void>((r) => { frames.once('close', r); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
  });
  const onDrops = (d: Record<string, number>) => {
    for (const [reason, total] of Object.entries(d)) {
      const delta = total - (reported.get(reason) ?? 0);
      if (delta > 0) { reported.set(reason, total); dropsCb?.(reason, delta); }
    }
  };

  return new Promise<LiveCapture>((resolve, reject) => {
    let opened = false;
    child.on('message', (m: ChildMsg) => {
      if (m.t === 'drops') onDrops(m.drops);
      else if (m.t === 'error' && !opened) reject(new TaplineError(m.code as ErrorCode, STAGE, m.message));
      else if (m.t === 'open') {
        opened = true;
        resolve({
          linkType: m.linkType,
          onPacket(cb) { packetCb = cb; },
          onDrops(cb) { dropsCb = cb; },
          onFailure(cb) { failureCb = cb; },
          async close() {
            if (closing) return;
            closing = true;
            if (child.connected) child.send({ t: 'close' });
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await Promise.all([exited, framesEnded]);
            clearTimeout(t);
          },
        });
      }
    });
    child.once('error', (e) => { if (!opened) reject(new TaplineError('IO', STAGE, `cannot start the capture helper: ${e.message}`, { cause: e })); });
    void Promise.all([exited, framesEnded]).then(([{ code, signal }]) => {
      if (!opened) {
        reject(new TaplineError('IO', STAGE, `the capture helper for ${o.device} exited before capturing (${signal ?? `exit code ${code}`})`));
      } else if (!closing) {
        failureCb?.(new TaplineError('IO', STAGE, `capture on ${o.device} stopped: the capture helper ${signal ? `was killed by ${signal}` : `exited with code ${code}`} (device down or gone?)`));
      }
    });
  });
}

/** Entry point of the helper process (see openCapChild). */
export function runCaptureChild(): void {
  const o = JSON.parse(process.env.TAPLINE_PCAP_CHILD ?? '{}') as ChildCaptureOptions;
  const send = (m: ChildMsg, then?: () => void) => { process.send!(m, undefined, {}, () => then?.()); };
  const fail = (e: unknown) => send({ t: 'error', code: e instanceof TaplineError ? e.code : 'IO', message: errorMessage(e) }, () => process.exit(2));
  let cap: LiveCapture;
  try {
    cap = openCapDevice(o);
  } catch (e) {
    fail(e);
    return;
  }
  let uid: number | null = null;
  if (o.user) {
    try {
      uid = dropPrivileges(o.user, o.group)?.uid ?? null;
    } catch (e) {
      void cap.close();
      fail(e);
      return;
    }
  }
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  out.on('error', () => process.exit(3)); // tapline went away
  const max = o.maxPipeBytes ?? 8 * 1024 * 1024;
  const clock = anchoredClock();
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let pipeFull = 0;
  let sentDrops = 0;
  const flush = () => {
    if (used === 0) return;
    out.write(chunk.subarray(0, used));
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
  };
  cap.onPacket((frame, truncated) => {
    const ts = clock();
    const need = REC_HDR + frame.length;
    if (out.writableLength + used + need > max) { pipeFull++; return; }
    if (used + need > CHUNK_BYTES) flush();
    chunk.writeUInt32LE(frame.length, used);
    chunk.writeUInt32LE(truncated ? 1 : 0, used + 4);
    chunk.writeBigUInt64LE(ts, used + 8);
    frame.copy(chunk, used + REC_HDR);
    used += need;
  });
  const flushTimer = setInterval(flush, 2);
  const dropTimer = setInterval(() => {
    if (pipeFull !== sentDrops) { sentDrops = pipeFull; send({ t: 'drops', drops: { 'pipe-full': pipeFull } }); }
  }, 200);
  const stop = () => {
    void cap.close();
    clearInterval(flushTimer);
    clearInterval(dropTimer);
    flush();
    out.end(() => send({ t: 'drops', drops: { 'pipe-full': pipeFull } }, () => process.exit(0)));
  };
  process.on('message', (m: { t?: string }) => { if (m.t === 'close') stop(); });
  process.on('disconnect', () => { void cap.close(); process.exit(0); });
  send({ t: 'open', linkType: cap.linkType, uid });
}
