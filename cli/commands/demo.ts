import type { Command } from 'commander';
import { configFrom, positiveInt, withServiceOptions } from '../options';
import { runDemo } from '../demo/run-demo';

export function register(program: Command): void {
  withServiceOptions(program.command('demo'))
    .description('replay recorded traffic through Kafka, every stage (detectors included) and TimescaleDB; print top flows, VM pairs and alerts')
    .option('--file <pcap>', 'replay this one capture instead of the recorded lab scenario')
    .option('--dataset <dir>', 'a recorded dataset (dataset.json, as written by scripts/lab/scenario.sh; default demo/lab)')
    .option('--top <n>', 'how many flows to print', positiveInt('--top'), 10)
    .option('--keep', 'leave Kafka and TimescaleDB running afterwards', false)
    .option('--serve', 'then serve the dashboard on the demo data until Ctrl-C (default when run on a terminal)')
    .option('--no-serve', 'end after printing the results')
    .action(async (opts: { file?: string; dataset?: string; top: number; keep: boolean; serve?: boolean }, cmd: Command) => {
      const started = Date.now();
      const serve = opts.serve ?? Boolean(process.stdout.isTTY);
      await runDemo(configFrom(cmd), { file: opts.file, dataset: opts.dataset, top: opts.top, keep: opts.keep, progress: true, serve, handleSignals: true });
      process.stdout.write(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      // Everything is printed and what the demo started is stopped; a Kafka client of the replay
      // that is still retrying its connection to the stopped broker must not keep the process up.
      process.exit(0);
    });
}
