/**
 * Process and file helpers for the embedded Kafka broker: pid files checked against
 * /proc/<pid>/cmdline (so only the broker we started is ever signalled), port checks, waiting
 * for exit, reading the tail of the log, and a small cross-process lock for `start`.
 */
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export function readPidFile(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * When `pid` started (ms since the epoch, ±1 s), from /proc/<pid>/stat and the boot time; null
 * when unknown. A lock or pid file older than its process names a recycled pid, not its writer.
 */
export function processStartMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && btime > 0 ? btime * 1000 + ticks * 10 : null; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** True when `pid` started clearly after `file` was last written: the file cannot be its. */
export function startedAfterWrite(pid: number, file: string): boolean {
  const started = processStartMs(pid);
  return started !== null && started > mtimeMs(file) + 2000;
}

/** The argv of a live process, or null. */
export function cmdline(pid: number): string[] | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.split('\0').filter((s) => s !== '') : null;
  } catch {
    return null;
  }
}

/** True when `pid` is alive and is a Kafka broker (`kafka.Kafka`) running with `configPath`. */
export function isOurBroker(pid: number, configPath: string): boolean {
  const argv = cmdline(pid);
  return argv !== null && isAlive(pid) && argv.includes('kafka.Kafka') && argv.includes(configPath);
}

export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** True when something already listens on host:port (a bind attempt fails with EADDRINUSE). */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') resolve(true);
      else reject(e);
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/** True when a TCP connection to host:port succeeds within timeoutMs. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last `lines` lines of `file`, reading from byte `from` on (at most the last 64 KiB). */
export function tailFile(file: string, lines = 40, from = 0): string {
  try {
    const size = fileSize(file);
    const start = Math.max(from, size - 64 * 1024);
    if (size <= start) return '';
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * An exclusive lock file holding the owner's pid; a lock whose owner is gone is taken over.
 * Resolves to the release function; throws when another live process holds it past timeoutMs.
 */
export async function acquireLock(file: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readPidFile(file);
    if (owner === null || !isAlive(owner) || startedAfterWrite(owner, file)) {
      // Stale (owner died, or its pid now belongs to a younger, unrelated process) or
      // unreadable because it is being written right now: retry shortly.
      if (owner !== null || Date.now() - mtimeMs(file) > 2000) fs.rmSync(file, { force: true });
    }
    if (Date.now() >= deadline) {
      throw new Error(`lock ${file} is held by pid ${owner ?? '?'} for more than ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
