/**
 * The embedded TimescaleDB: a detached child process (server-main.ts) running PGlite with the
 * timescaledb extension behind the Postgres wire protocol. Everything else in tapline talks to
 * it through `pg` like to a real server, so swapping in `--pg <url>` changes nothing but the URL.
 *
 * State lives in `<stateDir>`: data/ (the Postgres data dir, survives restarts), server.log,
 * server.pid and, while a start() runs, start.lock. This file is the lifecycle (start, stop,
 * status); the pieces it is built from each have their own module:
 *   - server-process.ts: spawning the child, and proving via /proc that a pid is our server,
 *   - server-probes.ts: port checks and the `pg` readiness probe,
 *   - start-lock.ts: the cross-process lock that makes concurrent starts spawn one server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaplineError } from '../../errors';
import { portBusyFor, probeExtension } from './server-probes';
import { isOurServer, runningServerPid, serverAddress, signal, spawnServer, type ServerAddress } from './server-process';
import { acquireStartLock } from './start-lock';

export interface EmbeddedOptions {
  /** Default `<cwd>/.tapline/timescale`. */
  stateDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 15433 (not 5432, so it never collides with a locally installed Postgres). */
  port?: number;
  /** Only used to build the URL: PGlite serves one database whatever name the client asks for. */
  database?: string;
  /** Only used to build the URL: PGlite accepts any user name and password. */
  user?: string;
  /** How long start() waits for the server to answer. Default 60 s (first start ≈2 s). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
}

export interface EmbeddedStatus {
  /** Our server process for this stateDir is alive. */
  running: boolean;
  /** It answers through `pg` with the timescaledb extension (false while starting up). */
  ready: boolean;
  pid: number | null;
  url: string;
  stateDir: string;
  dataDir: string;
  logFile: string;
}

const LOG_TAIL_LINES = 30;

export class EmbeddedTimescale {
  readonly stateDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  private readonly user: string;
  private readonly database: string;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;

  constructor(opts: EmbeddedOptions = {}) {
    this.stateDir = path.resolve(opts.stateDir ?? path.join(process.cwd(), '.tapline', 'timescale'));
    this.dataDir = path.join(this.stateDir, 'data');
    this.logFile = path.join(this.stateDir, 'server.log');
    this.pidFile = path.join(this.stateDir, 'server.pid');
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 15433;
    this.user = encodeURIComponent(opts.user ?? 'postgres');
    this.database = encodeURIComponent(opts.database ?? 'postgres');
    this.url = this.urlFor(this.host, this.port);
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  }

  /** Starts the server, or reuses it when our own server for this stateDir already runs. */
  async start(): Promise<{ url: string; started: boolean }> {
    // The lock holder may legitimately spend a whole start timeout waiting for its server.
    const release = await acquireStartLock(this.stateDir, this.startTimeoutMs + 5000);
    try {
      return await this.startLocked();
    } finally {
      release();
    }
  }

  private async startLocked(): Promise<{ url: string; started: boolean }> {
    const pid = this.runningPid();
    if (pid !== null) {
      const at = this.addressOf(pid);
      if (at.host !== this.host || at.port !== this.port) {
        throw new TaplineError(
          'DB_START_FAILED',
          'db',
          `the embedded TimescaleDB of ${this.stateDir} already runs on ${at.host}:${at.port} (pid ${pid}), ` +
            `not on ${this.host}:${this.port}; use --port ${at.port}, or stop it first (tapline db stop).`,
        );
      }
      // Ours and alive: wait until it answers (it may itself still be starting up).
      await this.waitReady(() => this.isOurs(pid), pid, false);
      return { url: this.url, started: false };
    }
    if (await portBusyFor(this.host, this.port, 3000)) {
      throw new TaplineError(
        'DB_START_FAILED',
        'db',
        `cannot start the embedded TimescaleDB: ${this.host}:${this.port} is already in use by another process ` +
          `(not the embedded server of ${this.stateDir}). Stop that process, pick another port (--port), ` +
          `or point tapline at that server with --pg <url> if it is a TimescaleDB.`,
      );
    }
    fs.mkdirSync(this.dataDir, { recursive: true });
    fs.appendFileSync(this.logFile, `--- start requested by pid ${process.pid} at ${new Date().toISOString()}\n`);
    const logFrom = fs.statSync(this.logFile).size;
    const logFd = fs.openSync(this.logFile, 'a');
    let exited: string | null = null;
    try {
      const child = spawnServer({ dataDir: this.dataDir, host: this.host, port: this.port, logFile: this.logFile, cwd: this.stateDir, logFd });
      child.on('exit', (code, signal) => {
        exited = signal ? `signal ${signal}` : `exit code ${String(code)}`;
      });
      child.on('error', (e) => {
        exited = `spawn error: ${e.message}`;
      });
      if (child.pid === undefined) throw this.startFailed('could not spawn the server process');
      fs.writeFileSync(this.pidFile, `${child.pid}\n`);
      const childPid = child.pid;
      // Ready only once OUR child logged that it listens: until then (or if it loses the port
      // to another server started at the same time) whatever answers on the port is not ours.
      const listening = () => readFrom(this.logFile, logFrom).includes(`[pid ${childPid}] listening on `);
      await this.waitReady(() => exited === null, childPid, true, () => exited, listening);
    } finally {
      fs.closeSync(logFd);
    }
    return { url: this.url, started: true };
  }

  /** Stops our server (SIGTERM, so it flushes and closes PGlite). Safe to call when not running. */
  async stop(): Promise<{ stopped: boolean }> {
    const pid = this.runningPid();
    if (pid === null) return { stopped: false };
    const at = this.addressOf(pid); // may differ from our options: stop whatever port it uses
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + this.stopTimeoutMs;
    while (this.isOurs(pid) && Date.now() < deadline) await sleep(50);
    if (this.isOurs(pid)) {
      // Last resort. PGlite writes its data files through to disk, but the last transactions
      // may need recovery on the next start.
      fs.appendFileSync(this.logFile, `--- no exit ${this.stopTimeoutMs} ms after SIGTERM, sending SIGKILL\n`);
      signal(pid, 'SIGKILL');
      while (this.isOurs(pid)) await sleep(50);
    }
    // The cmdline empties when the process releases its memory, a moment before the kernel
    // closes its sockets; wait for the port too, so that stop() + start() never finds it taken.
    await portBusyFor(at.host, at.port, 5000);
    fs.rmSync(this.pidFile, { force: true });
    return { stopped: true };
  }

  /** The URL is the running server's (its port may differ from our options), else ours. */
  async status(): Promise<EmbeddedStatus> {
    const pid = this.runningPid();
    const at = pid !== null ? this.addressOf(pid) : { host: this.host, port: this.port };
    const url = this.urlFor(at.host, at.port);
    const ready = pid !== null && (await probeExtension(url).catch(() => null)) !== null;
    return { running: pid !== null, ready, pid, url, stateDir: this.stateDir, dataDir: this.dataDir, logFile: this.logFile };
  }

  private urlFor(host: string, port: number): string {
    return `postgres://${this.user}@${host}:${port}/${this.database}`;
  }

  private runningPid(): number | null {
    return runningServerPid(this.pidFile, this.dataDir);
  }

  private isOurs(pid: number): boolean {
    return isOurServer(pid, this.dataDir);
  }

  private addressOf(pid: number): ServerAddress {
    return serverAddress(pid, this.dataDir, { host: this.host, port: this.port });
  }

  /** Polls with `pg` until the timescaledb extension answers; throws DB_START_FAILED otherwise. */
  private async waitReady(
    alive: () => boolean, pid: number, spawned: boolean, why: () => string | null = () => null, ours: () => boolean = () => true,
  ): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let lastError = '';
    for (;;) {
      if (!alive()) throw this.startFailed(`the server process (pid ${pid}) died during start (${why() ?? 'exited'})`);
      try {
        const version = await probeExtension(this.url);
        if (version !== null && ours()) return;
        lastError = version === null ? 'timescaledb extension not created yet' : `the port answers, but not (yet) from pid ${pid}`;
      } catch (e) {
        lastError = (e as Error).message;
      }
      if (Date.now() > deadline) {
        if (spawned) {
          // Only a server we just spawned: one that was already running may be busy, not broken.
          signal(pid, 'SIGKILL');
          fs.rmSync(this.pidFile, { force: true });
        }
        throw this.startFailed(`the server did not answer within ${this.startTimeoutMs} ms (last error: ${lastError})`);
      }
      await sleep(150);
    }
  }

  /** The log tail goes into the error because the server's own stderr only reaches the log file. */
  private startFailed(reason: string): TaplineError {
    return new TaplineError(
      'DB_START_FAILED',
      'db',
      `embedded TimescaleDB failed to start: ${reason}.\nLast lines of ${this.logFile}:\n${tail(this.logFile, LOG_TAIL_LINES)}`,
    );
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.max(0, fs.fstatSync(fd).size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}
