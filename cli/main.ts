/**
 * The `tapline` command. Every file in cli/commands exports `register(program)` and adds its
 * own sub-commands; they are discovered from the folder, so a new command is one new file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';

const COMMANDS_DIR = path.join(__dirname, 'commands');

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tapline')
    .description('Monitoring of the traffic between virtual machines: capture -> Kafka -> stream stages -> TimescaleDB')
    .option('-c, --config <file>', 'YAML configuration file (default: ./tapline.yaml if present)')
    .showHelpAfterError();
  const files = fs.readdirSync(COMMANDS_DIR).filter((f) => /\.(ts|js)$/.test(f) && !/\.(test|d)\.(ts|js)$/.test(f)).sort();
  for (const f of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(path.join(COMMANDS_DIR, f)) as { register?: (p: Command) => void };
    if (typeof m.register === 'function') m.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
