/**
 * `tapline lab up|down|status|migrate|traffic`: a thin wrapper over scripts/lab/*.sh, the virtual
 * switch lab (two bridges as "hosts", a router namespace, four VM namespaces, every VM port
 * mirrored to its host's monitor port tl-mon-h1 / tl-mon-h2). Needs root. See docs/lab.md.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';

export const LAB_SCRIPTS = path.resolve(__dirname, '..', '..', 'scripts', 'lab');

/** Runs one lab script with the terminal attached; returns its exit code. */
export function runLabScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync('bash', [path.join(LAB_SCRIPTS, script), ...args], { stdio: 'inherit', env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function run(script: string, args: string[] = [], env?: NodeJS.ProcessEnv): void {
  const code = runLabScript(script, args, env);
  if (code !== 0) process.exitCode = code;
}

export function register(program: Command): void {
  const lab = program.command('lab').description('a virtual switch lab to capture on: two hosts (bridges), a router, four VMs (network namespaces); root only');

  lab.command('up')
    .description('create the lab (idempotent); capture on tl-mon-h1 / tl-mon-h2')
    .option('--mirror <mode>', 'both: both directions of every VM port (default); ingress: every frame once')
    .action((o: { mirror?: string }) => run('up.sh', [], o.mirror ? { ...process.env, TAPLINE_LAB_MIRROR: o.mirror } : undefined));

  lab.command('down')
    .description('remove everything `lab up` and `lab traffic` made (also after a half-failed up)')
    .action(() => run('down.sh'));

  lab.command('status')
    .description('what of the lab exists (exit 0 complete, 1 absent, 2 partial)')
    .action(() => run('status.sh'));

  lab.command('migrate <vm> <host>')
    .description('move a VM\'s port to another host\'s bridge, keeping its IP and MAC (e.g. migrate vm2 h2)')
    .action((vm: string, host: string) => run('migrate.sh', [vm, host]));

  lab.command('traffic <kind> [args...]')
    .description('traffic between VMs: http|dns|iperf|nmap <from> <to> [args], or stop (see scripts/lab/traffic.sh)')
    .allowUnknownOption()
    .action((kind: string, args: string[]) => run('traffic.sh', [kind, ...args]));
}
