/**
 * Serializes EmbeddedTimescale.start() across processes through `<stateDir>/start.lock`, which
 * holds the starter's pid: two commands starting at once would otherwise both spawn a server;
 * the second one now waits and then reuses the first one's. A lock whose pid is gone (the
 * starter crashed) is stale and taken over rather than waited for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaplineError } from '../../errors';
import { startedAfterWrite } from '../kafka-proc';

/**
 * Takes the lock, waiting up to `maxWaitMs` for a live holder; returns its release function.
 * Throws DB_START_FAILED when the holder keeps it longer than that.
 */
export async function acquireStartLock(stateDir: string, maxWaitMs: number): Promise<() => void> {
  const lock = path.join(stateDir, 'start.lock');
  fs.mkdirSync(stateDir, { recursive: true });
  const deadline = Date.now() + maxWaitMs;
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
    // No pid yet: the holder is between creating the file and writing to it, unless that was
    // more than 2 s ago (it died in between).
    const beingWritten = !(holder > 0) && Date.now() - mtimeMs(lock) < 2000;
    if (!beingWritten && (!pidAlive(holder) || startedAfterWrite(holder, lock))) { // gone, or its pid was recycled
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TaplineError('DB_START_FAILED', 'db', `pid ${holder} has been starting the embedded TimescaleDB for too long (${lock})`);
    }
    await sleep(100);
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

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
