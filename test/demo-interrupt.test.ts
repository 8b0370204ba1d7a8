/**
 * `tapline demo` interrupted with Ctrl-C while it replays: it stops the Kafka broker and the
 * embedded TimescaleDB it started (as its normal end does) and exits 130, instead of leaving
 * a JVM and a database server running. Runs the real CLI in its own state directory and ports.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const running = (dir: string): string[] => {
  try { return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).split('\n').filter(Boolean); } catch { return []; }
};

describe('tapline demo interrupted @integration', function () {
  this.timeout(300_000);

  it('SIGINT during the replay stops the broker and database it started and exits 130', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-demo-int-'));
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tapline.js'), 'demo', '--no-serve', '--state-dir', dir], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TAPLINE_KAFKA_BROKERS: '', TAPLINE_PG_URL: '', TAPLINE__kafka__embeddedPort: '30792', TAPLINE__timescale__embeddedPort: '26533', TAPLINE__metrics__port: '0' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 2400 && !/replaying /.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /replaying /, out);
      assert.ok(running(dir).length >= 2, `the broker and the database run from ${dir}`);
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130, out);
      assert.match(out, /SIGINT: stopping what the demo started/);
      assert.deepEqual(running(dir), [], 'nothing the demo started is left running');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of running(dir)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
