/**
 * The embedded TimescaleDB: a detached child process (server-main.ts) running PGlite with the
 * timescaledb extension behind the Postgres wire protocol. Everything else in tapline talks to
 * it through `pg` like to a real server, so swapping in `--pg <url>` changes nothing but the URL.
 *
 * State lives in `<stateDir>`: data/ (the Postgres data dir, survives restarts), server.log and
 * server.pid. The pid file is only trusted after /proc/<pid>/cmdline proves the process is our
 * server for this data dir, so a stale file or a recycled pid never makes us kill a stranger.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { TaplineError } from '../../errors';

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

const SERVER_MAIN = path.join(__dirname, `server-main${path.extname(__filename) || '.js'}`);
const LOG_TAIL_LINES = 30;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
    const release = await this.lockStart();
    try {
      return await this.startLocked();
    } finally {
      release();
    }
  }

  /**
   * Serializes start() across processes (`<stateDir>/start.lock` holds the starter's pid): two
   * commands starting at once would otherwise both spawn a server; the second one now waits and
   * then reuses the first one's. A lock whose pid is gone is stale and taken over.
   */
  private async lockStart(): Promise<() => void> {
    const lock = path.join(this.stateDir, 'start.lock');
    fs.mkdirSync(this.stateDir, { recursive: true });
    const deadline = Date.now() + this.startTimeoutMs + 5000;
    for (;;) {
      try {
        fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
        return () => fs.rmSync(lock, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8').trim());
      } catch {
        continue; // released between our attempt and the read
      }
      if (!pidAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new TaplineError('DB_START_FAILED', 'db', `pid ${holder} has been starting the embedded TimescaleDB for too long (${lock})`);
      }
      await sleep(100);
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
    const logFd = fs.openSync(this.logFile, 'a');
    let exited: string | null = null;
    try {
      const args = [SERVER_MAIN, '--data-dir', this.dataDir, '--host', this.host, '--port', String(this.port), '--log-file', this.logFile];
      // tsx is needed only when running from the TypeScript sources (the normal case in this repo).
      const execArgs = SERVER_MAIN.endsWith('.ts') ? ['-r', require.resolve('tsx/cjs')] : [];
      // detached + own stdio: the server outlives the CLI that started it (`tapline db start`)
      // and a WASM abort or a Node crash still ends up in the log file, not on a closed pipe.
      const child = spawn(process.execPath, [...execArgs, ...args], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        cwd: this.stateDir,
        // NODE_OPTIONS of the caller (e.g. --inspect under a debugger) must not leak into a
        // long-lived server; it would fight over the inspector port.
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      child.on('exit', (code, signal) => {
        exited = signal ? `signal ${signal}` : `exit code ${String(code)}`;
      });
      child.on('error', (e) => {
        exited = `spawn error: ${e.message}`;
      });
      child.unref();
      if (child.pid === undefined) throw this.startFailed('could not spawn the server process');
      fs.writeFileSync(this.pidFile, `${child.pid}\n`);
      const childPid = child.pid;
      await this.waitReady(() => exited === null, childPid, true, () => exited);
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

  /** The pid from the pid file if that process is alive and is our server; removes a stale file. */
  private runningPid(): number | null {
    let text: string;
    try {
      text = fs.readFileSync(this.pidFile, 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && this.isOurs(pid)) return pid;
    fs.rmSync(this.pidFile, { force: true });
    return null;
  }

  /**
   * True if `pid` runs server-main for our data dir. An exited-but-unreaped (zombie) process has
   * an empty cmdline, so this also answers "has it exited" for a child of this very process.
   */
  private isOurs(pid: number): boolean {
    return this.serverArgs(pid) !== null;
  }

  /** The command line of `pid` if it is our server, else null. */
  private serverArgs(pid: number): string[] | null {
    let cmdline: string[];
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return null;
    }
    const i = cmdline.indexOf('--data-dir');
    const ours = cmdline.some((a) => a.endsWith(path.basename(SERVER_MAIN))) && i >= 0 && cmdline[i + 1] === this.dataDir;
    return ours ? cmdline : null;
  }

  /** Where our running server listens, read from its command line. */
  private addressOf(pid: number): { host: string; port: number } {
    const args = this.serverArgs(pid) ?? [];
    const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    return { host: arg('--host') ?? this.host, port: Number(arg('--port') ?? this.port) };
  }

  /** Polls with `pg` until the timescaledb extension answers; throws DB_START_FAILED otherwise. */
  private async waitReady(alive: () => boolean, pid: number, spawned: boolean, why: () => string | null = () => null): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let lastError = '';
    for (;;) {
      if (!alive()) throw this.startFailed(`the server process (pid ${pid}) died during start (${why() ?? 'exited'})`);
      try {
        const version = await probeExtension(this.url);
        if (version !== null) return;
        lastError = 'timescaledb extension not created yet';
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

  private startFailed(reason: string): TaplineError {
    return new TaplineError(
      'DB_START_FAILED',
      'db',
      `embedded TimescaleDB failed to start: ${reason}.\nLast lines of ${this.logFile}:\n${tail(this.logFile, LOG_TAIL_LINES)}`,
    );
  }
}

/** The timescaledb version at `url`, null if the extension is absent; throws if unreachable. */
async function probeExtension(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined); // a server dying mid-probe must not crash the caller
  try {
    await client.connect();
    const r = await client.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
    return r.rows[0]?.extversion ?? null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Sends a signal, ignoring a process that has exited in between. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Whether host:port stays taken for `ms` (a server that is just exiting frees it sooner). */
async function portBusyFor(host: string, port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await portInUse(host, port))) return false;
    if (Date.now() >= deadline) return true;
    await sleep(100);
  }
}

/** Whether something accepts TCP connections on host:port. */
function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (used: boolean) => {
      sock.destroy();
      resolve(used);
    };
    sock.setTimeout(1000, () => done(true)); // a filtered/hanging port is not usable either
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}
