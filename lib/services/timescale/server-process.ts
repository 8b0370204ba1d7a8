/**
 * The embedded server's child process (server-main.ts) seen from the outside: how it is spawned,
 * and how a pid is recognised as ours. Only /proc/<pid>/cmdline proves that a pid runs
 * server-main for a given data dir; the pid file alone is never trusted, so a stale file or a
 * recycled pid never makes us signal a stranger. The command line is also the only record of
 * where a running server listens, which may differ from the options of whoever asks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** server-main.ts next to this file when running from the sources, server-main.js in a build. */
const SERVER_MAIN = path.join(__dirname, `server-main${path.extname(__filename) || '.js'}`);

export interface ServerAddress {
  host: string;
  port: number;
}

export interface SpawnServerOptions extends ServerAddress {
  dataDir: string;
  logFile: string;
  /** The server's working directory (the stateDir). */
  cwd: string;
  /** An open append fd of the log file, used as the child's stdout and stderr. */
  logFd: number;
}

/** Spawns server-main detached and unref'd; the caller watches 'exit'/'error' and checks `pid`. */
export function spawnServer(o: SpawnServerOptions): ChildProcess {
  const args = [SERVER_MAIN, '--data-dir', o.dataDir, '--host', o.host, '--port', String(o.port), '--log-file', o.logFile];
  // tsx is needed only when running from the TypeScript sources (the normal case in this repo).
  const execArgs = SERVER_MAIN.endsWith('.ts') ? ['-r', require.resolve('tsx/cjs')] : [];
  // detached + own stdio: the server outlives the CLI that started it (`tapline db start`)
  // and a WASM abort or a Node crash still ends up in the log file, not on a closed pipe.
  const child = spawn(process.execPath, [...execArgs, ...args], {
    detached: true,
    stdio: ['ignore', o.logFd, o.logFd],
    cwd: o.cwd,
    // NODE_OPTIONS of the caller (e.g. --inspect under a debugger) must not leak into a
    // long-lived server; it would fight over the inspector port.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.unref();
  return child;
}

/** The pid from `pidFile` if that process is alive and is our server; removes a stale file. */
export function runningServerPid(pidFile: string, dataDir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0 && isOurServer(pid, dataDir)) return pid;
  fs.rmSync(pidFile, { force: true });
  return null;
}

/**
 * True if `pid` runs server-main for `dataDir`. An exited-but-unreaped (zombie) process has
 * an empty cmdline, so this also answers "has it exited" for a child of this very process.
 */
export function isOurServer(pid: number, dataDir: string): boolean {
  return serverArgs(pid, dataDir) !== null;
}

/** Where our running server listens, read from its command line; `fallback` fills what is missing. */
export function serverAddress(pid: number, dataDir: string, fallback: ServerAddress): ServerAddress {
  const args = serverArgs(pid, dataDir) ?? [];
  const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  return { host: arg('--host') ?? fallback.host, port: Number(arg('--port') ?? fallback.port) };
}

/** Sends a signal, ignoring a process that has exited in between. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** The command line of `pid` if it is our server for `dataDir`, else null. */
function serverArgs(pid: number, dataDir: string): string[] | null {
  let cmdline: string[];
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
  const i = cmdline.indexOf('--data-dir');
  const ours = cmdline.some((a) => a.endsWith(path.basename(SERVER_MAIN))) && i >= 0 && cmdline[i + 1] === dataDir;
  return ours ? cmdline : null;
}
