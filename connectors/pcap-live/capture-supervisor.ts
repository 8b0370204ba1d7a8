/**
 * Keeps a capture open on the configured device: opens it (in the helper process by default,
 * see capture-child.ts), wires its callbacks to the connector, and when the capture stops by
 * itself (the device went down or away, the helper died) reports it and reopens it with a
 * growing delay (1 s .. 30 s) until that works or the connector stops. A device that vanishes
 * for a while (a VM port deleted, a migration) thus costs a gap in the capture, not the capture.
 */
import { TaplineError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { ComponentMetrics } from '../../lib/metrics';
import type { PcapLiveConfig } from './config';
import type { CaptureOpener, LiveCapture } from './device';

/** Where the capture's events go. */
export interface CaptureHandlers {
  /** one frame; `frame` is valid only during the call (see LiveCapture.onPacket) */
  frame(frame: Buffer, truncated: boolean, tsNs?: bigint): void;
  /** frames the capture layer lost before handing them over, by reason */
  lost(reason: string, n: number): void;
  /** the capture stopped, or was reopened: health worth reporting now */
  changed(): void;
}

export class CaptureSupervisor {
  /** LINKTYPE_* of the capture opened last (Ethernet until one is open) */
  linkType = 1;
  /** successful reopens after a failure */
  restarts = 0;
  lastError: string | null = null;
  /** null before the first open and while waiting to reopen */
  private capture: LiveCapture | null = null;
  private reopenTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly cfg: PcapLiveConfig, private readonly openCapture: CaptureOpener,
    private readonly handlers: CaptureHandlers, private readonly metrics: ComponentMetrics, private readonly log: Logger) {}

  get capturing(): boolean { return this.capture !== null; }

  /** Opens the device and wires its callbacks; rejects when it cannot be opened. */
  async open(): Promise<void> {
    const cap = await this.openCapture({
      device: this.cfg.interface, filter: this.cfg.filter, bufferSize: this.cfg.bufferSize,
      // the helper process drops its own privileges right after opening
      ...(this.cfg.isolate && this.cfg.user ? { user: this.cfg.user, group: this.cfg.group } : {}),
    });
    this.capture = cap;
    this.linkType = cap.linkType;
    cap.onPacket((frame, truncated, ts) => this.handlers.frame(frame, truncated, ts));
    cap.onDrops?.((reason, n) => this.handlers.lost(reason, n));
    cap.onFailure?.((err) => this.onFailure(cap, err));
  }

  /** No more reopening, from now on. */
  stop(): void {
    this.stopping = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
  }

  /** Closes the open capture, if any; the helper hands over what it still holds before it exits. */
  async close(): Promise<void> {
    await this.capture?.close();
  }

  private onFailure(cap: LiveCapture, err: Error): void {
    // a capture replaced or closed meanwhile has nothing more to report
    if (this.stopping || this.capture !== cap) return;
    this.capture = null;
    this.lastError = err.message;
    this.metrics.error(err instanceof TaplineError ? err.code : 'IO');
    this.log.error({ err: err.message, interface: this.cfg.interface }, 'live capture stopped; reopening');
    let delay = 1000;
    const retry = (): void => {
      this.reopenTimer = null;
      if (this.stopping) return;
      this.open().then(() => {
        this.restarts++;
        this.log.warn({ interface: this.cfg.interface, restarts: this.restarts }, 'live capture reopened');
        this.handlers.changed();
      }, (e: unknown) => {
        this.lastError = errorMessage(e);
        this.log.warn({ err: this.lastError, retryMs: delay }, 'cannot reopen the capture yet');
        delay = Math.min(delay * 2, 30_000);
        this.reopenTimer = setTimeout(retry, delay);
      });
    };
    this.reopenTimer = setTimeout(retry, delay);
    this.handlers.changed();
  }
}
