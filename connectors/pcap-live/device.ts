/**
 * The capture device through the optional native addon `cap` (libpcap), behind the small
 * LiveCapture interface, so that the connector's queueing logic is testable without it.
 * See pcap-live.ts's header for what cap does and does not give.
 */
import { TaplineError, errorMessage } from '../../lib/errors';

const STAGE = 'pcap-live';


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
