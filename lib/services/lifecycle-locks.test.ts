/**
 * Start locks left behind by a crashed starter whose pid was later recycled by an unrelated
 * live process (e.g. after a reboot): the lock must be recognised as stale, not waited on.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTaplineError } from '../errors';
import { KafkaBroker } from './kafka-broker';
import { EmbeddedTimescale } from './timescale/embedded';
import { acquireStartLock } from './timescale/start-lock';

const KAFKA_PORT = Number(process.env.TAPLINE_TEST_KAFKA_PORT ?? 30392) + 2; // 30394
const PG_PORT = Number(process.env.TAPLINE_TEST_PG_PORT ?? 26333) + 1; // 26334

/** A lock file written an hour ago, holding the pid of a process started just now (a recycled pid). */
function staleLockWithRecycledPid(lock: string, stranger: ChildProcess): void {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  fs.writeFileSync(lock, `${stranger.pid}\n`);
  const hourAgo = new Date(Date.now() - 3600_000);
  fs.utimesSync(lock, hourAgo, hourAgo);
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

describe('start locks left behind or being written', function () {
  this.timeout(60_000);
  let stranger: ChildProcess;
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-lock-'));
    dirs.push(d);
    return d;
  };
  beforeEach(() => {
    stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
  });
  afterEach(() => {
    stranger.kill('SIGKILL');
  });
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('kafka: a start.lock naming a live but unrelated (younger) process does not block start', async () => {
    const stateDir = tmp();
    staleLockWithRecycledPid(path.join(stateDir, 'start.lock'), stranger);
    const b = new KafkaBroker({ stateDir, port: KAFKA_PORT, javaBin: '/nonexistent/java' });
    // Past the lock, start goes on to check java: JAVA_MISSING proves it was not blocked.
    const err = await within(5000, b.start().then(() => null, (e: unknown) => e), 'kafka start');
    assert.ok(isTaplineError(err), String(err));
    assert.equal(err.code, 'JAVA_MISSING');
  });

  it('timescale: a start.lock naming a live but unrelated (younger) process does not block start', async () => {
    const stateDir = tmp();
    staleLockWithRecycledPid(path.join(stateDir, 'start.lock'), stranger);
    const ts = new EmbeddedTimescale({ stateDir, port: PG_PORT, startTimeoutMs: 30_000 });
    try {
      const r = await within(20_000, ts.start(), 'timescale start');
      assert.equal(r.started, true);
    } finally {
      await ts.stop();
    }
  });

  it('timescale: a start.lock just created but not yet holding a pid (being written) is not taken over', async () => {
    const stateDir = tmp();
    fs.writeFileSync(path.join(stateDir, 'start.lock'), ''); // what a holder's open(wx) leaves before its write
    const err = await acquireStartLock(stateDir, 500).then((release) => { release(); return null; }, (e: unknown) => e);
    assert.ok(isTaplineError(err), 'took a lock another starter was creating');
    assert.equal(err.code, 'DB_START_FAILED');
  });
});
