/**
 * The `tapline` command. Each file in cli/commands exports `register(program)` and adds its
 * own sub-commands, so a new command is one new file plus one line below.
 */
import { Command } from 'commander';

const COMMAND_MODULES = [
  './commands/kafka',
  './commands/db',
  './commands/demo',
];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tapline')
    .description('Monitoring of the traffic between virtual machines: capture -> Kafka -> stream stages -> TimescaleDB')
    .option('-c, --config <file>', 'YAML configuration file (default: ./tapline.yaml if present)')
    .showHelpAfterError();
  for (const mod of COMMAND_MODULES) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(mod) as { register: (p: Command) => void };
    m.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
