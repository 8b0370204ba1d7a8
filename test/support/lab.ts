/**
 * Helpers for tests on the network lab (scripts/lab): run its scripts, check the tools a test
 * needs, and capture on its monitor ports with tcpdump. The lab is machine-wide: lab tests run
 * one at a time (mocha runs files sequentially).
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const LAB_DIR = path.resolve(__dirname, '..', '..', 'scripts', 'lab');

export function lab(script: string, ...args: string[]): string {
  return execFileSync('bash', [path.join(LAB_DIR, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** Without blocking the event loop (a live capture must keep draining meanwhile). */
export async function labAsync(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(LAB_DIR, script), ...args], { encoding: 'utf8', timeout: 60_000 });
  return stdout;
}

/** Why the lab cannot run here (not root, a tool missing), or null. */
export function labMissing(tools: string[]): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const t of ['ip', 'tc', 'ethtool', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0) return `${t} missing`;
  }
  return null;
}

/** tcpdump writing everything on `iface` to `file`; the process is added to `children`. */
export function startTcpdump(iface: string, file: string, children: ChildProcess[]): { proc: ChildProcess; err: () => string } {
  let err = '';
  const proc = spawn('tcpdump', ['-i', iface, '-nn', '--immediate-mode', '-B', '8192', '-s', '0', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  children.push(proc);
  return { proc, err: () => err };
}

/** SIGTERM and wait for the exit (tcpdump flushes its file on SIGTERM). */
export async function stopped(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}
