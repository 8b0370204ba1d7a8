import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../main';

function quiet(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  for (const c of cmd.commands) quiet(c);
}

async function usageError(args: string[]): Promise<void> {
  const p = buildProgram();
  quiet(p);
  await assert.rejects(p.parseAsync(['node', 'tapline', ...args]),
    (e: { code?: string; message?: string }) => e.code === 'commander.invalidArgument' && /--/.test(e.message ?? ''));
}

describe('tapline probe / probe-responder: numeric options', () => {
  it('refuses a number with a unit or junk instead of silently reading its leading digits', async () => {
    await usageError(['probe', '127.0.0.1:9', '--count', '1', '--interval', '20s']); // was 20 ms
    await usageError(['probe', '127.0.0.1:9', '--count', '1x']);
    await usageError(['probe', '127.0.0.1:9', '--count', 'abc']);
    await usageError(['probe', '127.0.0.1:9', '--count', '1', '--timeout', '1.5s']);
    await usageError(['probe-responder', '--host', '127.0.0.1', '--port', '1x']);
  });
});
