/**
 * pcap-live source: live capture on a network device through the optional native addon `cap`
 * (libpcap), decoded into PacketSummary records on Kafka, plus a periodic CaptureHealth record.
 *
 * - Isolation (default): the device is opened in a small helper process (openCapChild) that only
 *   captures, stamps and forwards frames over a pipe. cap 0.2.1 aborts the process holding a
 *   device that goes down or away; here only the helper dies, and tapline reports it and reopens
 *   the device with a growing delay. `isolate: false` captures in-process (openCapDevice).
 * - `cap` emits one 'packet' event per frame and copies every frame into ONE shared Buffer, so
 *   each frame is consumed synchronously inside the event: copied into the pipe chunk by the
 *   helper, or decoded (decodeFrame copies the little it keeps) in-process. Frames from the pipe
 *   are decoded as they are parsed, also without any await in between.
 * - Bounded memory: decoded summaries wait in a queue of at most `maxQueuedPackets`; a pump sends
 *   them in batches and awaits each acknowledgement. When Kafka is slower than the wire the queue
 *   fills and further frames are DROPPED and counted (queue-full); when tapline is slower than
 *   its helper, the helper drops once `maxPipeBytes` wait in the pipe (pipe-full). Neither the
 *   capture callback nor the helper ever blocks, and nothing buffers without bound.
 * - Timestamps: cap's event carries no pcap timestamp, so a frame is stamped when its event runs
 *   (in the helper when isolated), on a wall clock anchored once (Date.now()) and advanced by the
 *   monotonic process.hrtime.bigint(): strictly ordered, immune to clock steps, late by the
 *   event-loop delay (microseconds when idle, more under load), not following later NTP slewing.
 * - Lengths: cap reports only the captured length; it opens the device with snaplen 65535, so
 *   the captured length IS the wire length for every frame up to 65535 bytes (offloads off, see
 *   docs/lab.md). The configured snaplen is applied here: cap_len = min(wire, snaplen).
 * - Statistics: cap 0.2.1 does not expose pcap_stats, so kernel drops (ps_drop) are reported as
 *   null; interface drops come from sysfs rx_dropped (what libpcap reports as ps_ifdrop on Linux).
 * - Privileges: with `user` set and running as root, the process that opened the device (the
 *   helper, and tapline itself after it) switches to that user and its group right after the
 *   open, like `tcpdump -Z`; the open socket keeps capturing. A reopen after the device went
 *   away then needs privileges the processes no longer have: it keeps failing, and says so.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { decodeFrame, DecodeStats, defaultPayloadPrefix, type DecodeOptions } from '../../lib/decode';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { TaplineError, errorMessage, type ErrorCode } from '../../lib/errors';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';
import { CAPTURE_HEALTH_SCHEMA, type CaptureHealth } from '../../schemas/capture-health';
import { PacketPublisher } from '../publisher';
import type { Connector, ConnectorSummary } from '../types';
import type { PcapLiveConfig } from './config';

const STAGE = 'pcap-live';

// ---------------------------------------------------------------------------------------------
// The capture device (cap addon), behind a small interface so the queueing logic is testable.

export interface OpenCaptureOptions {
  device: string;
  filter: string;
  bufferSize: number;
  /** drop to this user (and group) right after opening, where the device is opened */
  user?: string;
  group?: string;
}

export interface LiveCapture {
  /** LINKTYPE_* of the device */
  readonly linkType: number;
  /**
   * `frame` is valid only during the call (a view of a shared buffer). `tsNs`: when the frame was
   * taken, if the capture layer stamps frames itself.
   */
  onPacket(cb: (frame: Buffer, truncated: boolean, tsNs?: bigint) => void): void;
  /** frames the capture layer lost before delivering them (e.g. a full pipe), by reason */
  onDrops?(cb: (reason: string, n: number) => void): void;
  /** the capture stopped by itself (device gone, helper process died) */
  onFailure?(cb: (err: Error) => void): void;
  close(): void | Promise<void>;
}

export type CaptureOpener = (o: OpenCaptureOptions) => LiveCapture | Promise<LiveCapture>;

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
}
interface CapModule { Cap: (new () => CapInstance) & { deviceList?: () => { name: string }[] } }

/** cap's link type names -> LINKTYPE_* numbers the decoder knows. */
const CAP_LINKTYPES: Record<string, number> = { ETHERNET: 1, NULL: 0, RAW: 101, LINKTYPE_LINUX_SLL: 113 };

/** cap opens every device with snaplen 65535: the largest frame it can hand over. */
export const CAP_SNAPLEN = 65535;

const loaded = new Map<string, CapModule>();

/** Loads the native addon lazily; a missing or unbuildable addon is a PCAP_UNSUPPORTED error. */
export function loadCapAddon(moduleName = 'cap'): CapModule {
  const have = loaded.get(moduleName);
  if (have) return have;
  let m: CapModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    m = require(moduleName) as CapModule;
  } catch (e) {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE,
      `live capture needs the optional native addon "${moduleName}" (libpcap), which cannot be loaded here: ${errorMessage(e).split('\n')[0]}; ` +
      'install libpcap-dev and rebuild: npm rebuild cap', { cause: e });
  }
  if (typeof m?.Cap !== 'function') {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, `"${moduleName}" is not the cap addon; install libpcap-dev and rebuild: npm rebuild cap`);
  }
  loaded.set(moduleName, m);
  return m;
}

/**
 * cap 0.2.1 crashes the process (SIGSEGV, or a libuv assertion) when an instance whose open()
 * failed is garbage-collected: its destructor stops a uv_poll handle that was never initialised.
 * Such instances are therefore kept referenced for the life of the process, one per failed
 * open, with whatever libpcap had set up before the failure (after a filter that does not
 * compile: the activated socket and its kernel buffer) — one more reason for the helper process
 * (isolate: true), which exits after a failed open. Devices are checked before an instance is made.
 */
const failedCaps: CapInstance[] = [];

/** Opens a device with the cap addon (libpcap: promiscuous, immediate mode, snaplen 65535). */
export function openCapDevice(o: OpenCaptureOptions): LiveCapture {
  const { Cap } = loadCapAddon();
  const devices = typeof Cap.deviceList === 'function' ? Cap.deviceList().map((d) => d.name) : null;
  if (devices && !devices.includes(o.device)) {
    throw new TaplineError('IO', STAGE, `cannot capture on ${o.device}: no such device (is the interface up? \`ip link\`; for the lab: tapline lab up)`);
  }
  const cap = new Cap();
  const buffer = Buffer.alloc(CAP_SNAPLEN);
  let name: string;
  try {
    name = cap.open(o.device, o.filter, o.bufferSize, buffer);
  } catch (e) {
    failedCaps.push(cap);
    const msg = errorMessage(e);
    const hint = /permitted|permission/i.test(msg)
      ? ' (capturing needs root, or CAP_NET_RAW and CAP_NET_ADMIN: setcap cap_net_raw,cap_net_admin=eip "$(command -v node)")'
      : /no such device/i.test(msg) ? ' (is the interface up? `ip link`; for the lab: tapline lab up)' : '';
    throw new TaplineError('IO', STAGE, `cannot capture on ${o.device}${o.filter ? ` with filter "${o.filter}"` : ''}: ${msg}${hint}`, { cause: e });
  }
  const linkType = CAP_LINKTYPES[name];
  if (linkType === undefined) {
    cap.close();
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, `${o.device}: link type ${name} is not supported by the decoder`);
  }
  let closed = false;
  return {
    linkType,
    onPacket(cb) {
      cap.on('packet', (nbytes: number, truncated: boolean) => cb(buffer.subarray(0, nbytes), truncated));
    },
    close() {
      if (closed) return;
      closed = true;
      cap.close();
    },
  };
}

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

// ---------------------------------------------------------------------------------------------
// Helpers: clock, interface counters, privilege drop.

/** Wall clock in ns, anchored once and advanced monotonically (see the header comment). */
export function anchoredClock(): () => bigint {
  const wall0 = BigInt(Date.now()) * 1_000_000n;
  const mono0 = process.hrtime.bigint();
  return () => wall0 + (process.hrtime.bigint() - mono0);
}

export interface InterfaceCounters { rxDropped: bigint; packets: bigint }

/** Linux sysfs counters of an interface, or null when unreadable (other OS, interface gone). */
export function readInterfaceCounters(iface: string): InterfaceCounters | null {
  if (!/^[\w.:@-]+$/.test(iface)) return null;
  const dir = `/sys/class/net/${iface}/statistics`;
  try {
    const n = (f: string) => BigInt(fs.readFileSync(`${dir}/${f}`, 'utf8').trim());
    return { rxDropped: n('rx_dropped'), packets: n('rx_packets') + n('tx_packets') };
  } catch {
    return null;
  }
}

export interface DroppedPrivileges { uid: number; gid: number; user: string }

/**
 * As `tcpdump -Z user`: when running as root, switch to `user` with its groups (or `group`).
 * Returns null when not root (nothing to drop). Throws CONFIG_INVALID for an unknown user.
 */
/** process.initgroups exists on POSIX Node but is missing from @types/node 20. */
type PosixProcess = NodeJS.Process & { initgroups?: (user: string | number, extraGroup: string | number) => void };

export function dropPrivileges(user: string, group?: string): DroppedPrivileges | null {
  const proc = process as PosixProcess;
  if (typeof process.getuid !== 'function' || !process.setuid || !process.setgid || !proc.initgroups) {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, 'dropping privileges (user:) is not supported on this platform');
  }
  if (process.getuid() !== 0 && process.geteuid?.() !== 0) return null;
  let gid: number;
  try {
    gid = group
      ? Number(execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[2])
      : Number(execFileSync('id', ['-g', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    execFileSync('id', ['-u', '--', user], { stdio: 'ignore' });
  } catch (e) {
    throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: unknown ${group ? `group "${group}" or ` : ''}user "${user}"`, { cause: e });
  }
  if (!Number.isInteger(gid)) throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: no group id for "${group ?? user}"`);
  try {
    proc.initgroups!(user, gid);
    process.setgid(gid);
    process.setuid(user);
  } catch (e) {
    throw new TaplineError('INTERNAL', STAGE, `dropping privileges to ${user} failed: ${errorMessage(e)}`, { cause: e });
  }
  const uid = process.getuid();
  if (uid === 0) throw new TaplineError('INTERNAL', STAGE, `still root after switching to ${user}`);
  return { uid, gid: process.getgid!(), user };
}

// ---------------------------------------------------------------------------------------------

export interface PcapLiveDeps {
  /** how to open the device (default: the cap addon) */
  openCapture?: CaptureOpener;
  /** ns timestamps (default: anchoredClock()) */
  clock?: () => bigint;
  /** interface counters (default: Linux sysfs) */
  interfaceCounters?: (iface: string) => InterfaceCounters | null;
}

export interface PcapLiveStats {
  seen: number;
  bytes: number;
  truncated: number;
  queued: number;
  published: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  malformed: number;
}

export class PcapLiveConnector implements Connector {
  readonly type = 'pcap-live';
  readonly metrics = new ComponentMetrics('pcap-live');
  readonly decodeStats = new DecodeStats();
  private readonly log = logger(STAGE);
  private readonly healthCodec = new AvroCodec<CaptureHealth>(CAPTURE_HEALTH_SCHEMA);
  private readonly clock: () => bigint;
  private readonly openCapture: CaptureOpener;
  private readonly ifCounters: (iface: string) => InterfaceCounters | null;

  private producer: TaplineProducer | null = null;
  private capture: LiveCapture | null = null;
  private publisher: PacketPublisher | null = null;
  private decodeOpts: DecodeOptions | null = null;
  private linkType = 1;
  private ifBase: InterfaceCounters | null = null;
  private startedNs = 0n;
  private started: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private pumpDone: Promise<void> | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private healthInFlight: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private finished!: (s: ConnectorSummary) => void;
  private readonly summaryPromise: Promise<ConnectorSummary>;

  private queue: PacketSummary[] = [];
  private seen = 0;
  private bytes = 0;
  private truncated = 0;
  private dropped = 0;
  private readonly droppedByReason = new Map<string, number>();
  private unreportedReceived = 0;
  private firstTsNs: bigint | null = null;
  private lastTsNs: bigint | null = null;
  private restarts = 0;
  private lastError: string | null = null;
  private reopenTimer: NodeJS.Timeout | null = null;
  /** privileges dropped after opening (null: none configured or not root) */
  privileges: DroppedPrivileges | null = null;

  constructor(private readonly cfg: PcapLiveConfig, private readonly kafka: KafkaClient, deps: PcapLiveDeps = {}) {
    this.clock = deps.clock ?? anchoredClock();
    this.openCapture = deps.openCapture ?? (cfg.isolate ? openCapChild : openCapDevice);
    this.ifCounters = deps.interfaceCounters ?? readInterfaceCounters;
    this.summaryPromise = new Promise((resolve) => { this.finished = resolve; });
  }

  get observationPoint(): string {
    return this.cfg.observationPoint ?? `live:${os.hostname()}:${this.cfg.interface}`;
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    if (!this.cfg.promiscuous) {
      throw new TaplineError('CONFIG_INVALID', STAGE, 'promiscuous: false cannot be honoured: the cap addon always opens the device in promiscuous mode');
    }
    // Before touching Kafka: a missing addon is the most likely failure and the quickest to report.
    if (this.openCapture === openCapDevice || this.openCapture === openCapChild) loadCapAddon();
    this.producer = this.kafka.producer({ idempotent: true });
    try {
      await this.producer.connect();
      await this.kafka.ensureTopics([{ topic: this.cfg.healthTopic, partitions: 1 }]);
      // The publisher never flushes by itself: the pump below decides when, and awaits it.
      this.publisher = new PacketPublisher(this.producer, this.cfg.topic, this.metrics, Number.MAX_SAFE_INTEGER);
      this.decodeOpts = {
        observationPoint: this.observationPoint,
        payloadPrefix: this.cfg.payloadPrefixBytes === undefined ? defaultPayloadPrefix : ((n) => () => n)(this.cfg.payloadPrefixBytes),
      };
      this.ifBase = this.ifCounters(this.cfg.interface);
      await this.openDevice();
    } catch (e) {
      await this.producer.close().catch(() => undefined);
      throw e;
    }
    this.startedNs = this.clock();
    if (this.cfg.user) {
      try {
        this.privileges = dropPrivileges(this.cfg.user, this.cfg.group);
      } catch (e) {
        await this.capture?.close();
        await this.producer.close().catch(() => undefined);
        throw e;
      }
      if (this.privileges) this.log.info({ ...this.privileges }, 'dropped privileges after opening the device');
      else this.log.warn({ user: this.cfg.user }, 'not running as root: no privileges to drop');
    }
    this.pumpDone = this.pump();
    this.healthTimer = setInterval(() => this.sendHealth(false), this.cfg.healthIntervalMs);
    this.healthTimer.unref();
    this.log.info({ interface: this.cfg.interface, filter: this.cfg.filter, linkType: this.linkType, observationPoint: this.observationPoint }, 'live capture started');
  }

  /** Opens the device (in the helper process by default) and wires its callbacks. */
  private async openDevice(): Promise<void> {
    const cap = await this.openCapture({
      device: this.cfg.interface, filter: this.cfg.filter, bufferSize: this.cfg.bufferSize,
      // the helper process drops its own privileges right after opening
      ...(this.cfg.isolate && this.cfg.user ? { user: this.cfg.user, group: this.cfg.group } : {}),
    });
    this.capture = cap;
    this.linkType = cap.linkType;
    cap.onPacket((frame, truncated, ts) => this.onFrame(frame, truncated, ts));
    cap.onDrops?.((reason, n) => {
      // frames the capture layer saw but could not hand over: seen, and dropped
      this.seen += n;
      this.unreportedReceived += n;
      this.drop(reason, n);
    });
    cap.onFailure?.((err) => this.onCaptureFailure(cap, err));
  }

  /**
   * The capture stopped by itself (the device went down or away, the helper died): report it and
   * reopen with a growing delay (1 s .. 30 s) until it works again or the connector closes.
   */
  private onCaptureFailure(cap: LiveCapture, err: Error): void {
    if (this.stopping || this.capture !== cap) return;
    this.capture = null;
    this.lastError = err.message;
    this.metrics.error(err instanceof TaplineError ? err.code : 'IO');
    this.log.error({ err: err.message, interface: this.cfg.interface }, 'live capture stopped; reopening');
    let delay = 1000;
    const retry = (): void => {
      this.reopenTimer = null;
      if (this.stopping) return;
      this.openDevice().then(() => {
        this.restarts++;
        this.log.warn({ interface: this.cfg.interface, restarts: this.restarts }, 'live capture reopened');
        void this.sendHealth(false);
      }, (e: unknown) => {
        this.lastError = errorMessage(e);
        this.log.warn({ err: this.lastError, retryMs: delay }, 'cannot reopen the capture yet');
        delay = Math.min(delay * 2, 30_000);
        this.reopenTimer = setTimeout(retry, delay);
      });
    };
    this.reopenTimer = setTimeout(retry, delay);
    void this.sendHealth(false);
  }

  /**
   * One frame, synchronously, inside the capture's event: `frame` is a view of a shared buffer
   * that is overwritten by the next packet, so it is decoded (or dropped) before returning.
   */
  private onFrame(frame: Buffer, capTruncated: boolean, tsNs?: bigint): void {
    const ts = tsNs ?? this.clock();
    const wireLen = frame.length;
    this.seen++;
    this.unreportedReceived++;
    this.bytes += wireLen;
    this.firstTsNs ??= ts;
    this.lastTsNs = ts;
    if (this.queue.length >= this.cfg.maxQueuedPackets) { this.drop('queue-full'); return; }
    const capLen = wireLen < this.cfg.snaplen ? wireLen : this.cfg.snaplen;
    if (capTruncated || capLen < wireLen) this.truncated++;
    try {
      const p = decodeFrame({ linkType: this.linkType, data: capLen < wireLen ? frame.subarray(0, capLen) : frame, ts_ns: ts, wireLen, capLen },
        this.decodeOpts!, this.decodeStats);
      this.queue.push(p);
    } catch (e) {
      // decodeFrame never throws by contract; keep the capture alive all the same
      this.drop('internal-error');
      this.log.error({ err: errorMessage(e) }, 'frame handling failed');
      return;
    }
    if (this.queue.length >= this.cfg.batchSize && this.wake) this.wake();
  }

  private drop(reason: string, n = 1): void {
    this.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
    this.metrics.dropped(reason, n);
  }

  /** Sends the queue to Kafka in batches, one at a time, until closing and drained. */
  private async pump(): Promise<void> {
    const { batchSize, flushIntervalMs } = this.cfg;
    for (;;) {
      if (this.queue.length < batchSize && !this.stopping) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, flushIntervalMs);
          const self = this;
          function done(): void { clearTimeout(t); self.wake = null; resolve(); }
          this.wake = done;
        });
      }
      this.reportReceived();
      if (this.queue.length === 0) {
        if (this.stopping) return;
        continue;
      }
      const batch = this.queue.length <= batchSize ? this.queue : this.queue.slice(0, batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batchSize);
      try {
        for (const p of batch) void this.publisher!.add(p);
        await this.publisher!.flush();
        if (batch.length) this.metrics.streamTime(BigInt(batch[batch.length - 1].ts_ns));
      } catch (e) {
        this.drop('send-failed', batch.length);
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.error({ err: errorMessage(e), packets: batch.length }, 'a batch of packet summaries could not be sent; dropped');
      }
    }
  }

  private reportReceived(): void {
    if (this.unreportedReceived > 0) {
      this.metrics.received(this.unreportedReceived);
      this.unreportedReceived = 0;
    }
  }

  /** Counters so far (also for tests). */
  stats(): PcapLiveStats {
    return {
      seen: this.seen, bytes: this.bytes, truncated: this.truncated, queued: this.queue.length,
      published: this.metrics.totals.sent, dropped: this.dropped, droppedByReason: Object.fromEntries(this.droppedByReason),
      malformed: this.decodeStats.malformedTotal,
    };
  }

  healthRecord(final: boolean): CaptureHealth {
    const now = this.ifBase ? this.ifCounters(this.cfg.interface) : null;
    return {
      ts_ns: this.clock(),
      started_ns: this.startedNs,
      connector: this.type,
      host: os.hostname(),
      interface: this.cfg.interface,
      observation_point: this.observationPoint,
      filter: this.cfg.filter,
      link_type: this.linkType,
      snaplen: this.cfg.snaplen,
      final,
      packets_seen: this.seen,
      bytes_seen: this.bytes,
      packets_truncated: this.truncated,
      packets_published: this.metrics.totals.sent,
      pipeline_drops: this.dropped,
      pipeline_drops_by_reason: Object.fromEntries(this.droppedByReason),
      kernel_drops: null, // cap 0.2.1 exposes no pcap_stats (see the header comment)
      interface_drops: now && this.ifBase ? now.rxDropped - this.ifBase.rxDropped : null,
      interface_packets: now && this.ifBase ? now.packets - this.ifBase.packets : null,
      malformed: this.decodeStats.malformedTotal,
      malformed_by_code: Object.fromEntries(this.decodeStats.byCode),
      queue_depth: this.queue.length,
      queue_capacity: this.cfg.maxQueuedPackets,
      capturing: this.capture !== null,
      capture_restarts: this.restarts,
      last_error: this.lastError,
    };
  }

  /** Publishes one health record; skipped while the previous one is still in flight. */
  private sendHealth(final: boolean): Promise<void> {
    if (this.healthInFlight && !final) return this.healthInFlight;
    const rec = this.healthRecord(final);
    const send = (async () => {
      try {
        await this.producer!.send(this.cfg.healthTopic, [{ key: this.observationPoint, value: this.healthCodec.encode(rec) }]);
      } catch (e) {
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.warn({ err: errorMessage(e) }, 'capture health record not sent');
      }
    })();
    const tracked = send.finally(() => { if (this.healthInFlight === tracked) this.healthInFlight = null; });
    this.healthInFlight = tracked;
    (final ? this.log.info : this.log.debug).call(this.log, { ...this.stats(), interfaceDrops: String(rec.interface_drops) }, 'capture health');
    return tracked;
  }

  done(): Promise<ConnectorSummary> {
    if (!this.started) return Promise.reject(new Error('pcap-live: done() before start()'));
    return this.started.then(() => this.summaryPromise);
  }

  /**
   * Stops capturing, sends what is queued (waiting up to drainTimeoutMs; what is left then is
   * dropped as close-timeout), publishes a final health record and closes the producer.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.started?.catch(() => undefined);
    if (!this.pumpDone) return; // never started
    this.stopping = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    // the helper hands over what it still holds before it exits
    await this.capture?.close();
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.pumpDone!.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), this.cfg.drainTimeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const left = this.queue.length;
      this.queue = [];
      this.drop('close-timeout', left);
      this.log.warn({ left, timeoutMs: this.cfg.drainTimeoutMs }, 'Kafka did not take the queued summaries in time; dropped');
    }
    this.reportReceived();
    await this.healthInFlight?.catch(() => undefined);
    if (!timedOut) await this.sendHealth(true);
    await this.producer?.close().catch(() => undefined);
    this.finished({
      packets: this.seen, bytes: this.bytes, malformed: this.decodeStats.malformedTotal, firstTsNs: this.firstTsNs, lastTsNs: this.lastTsNs,
    });
  }
}
