import type { Command } from 'commander';
import { configFrom, positiveInt, withServiceOptions } from '../options';
import { runDemo } from '../demo/run-demo';

export function register(program: Command): void {
  withServiceOptions(program.command('demo'))
    .description('replay a real capture through Kafka, the aggregate stage and TimescaleDB; print the top flows')
    .option('--file <pcap>', 'capture to replay (default: demo/bro-org-http.pcap)')
    .option('--top <n>', 'how many flows to print', positiveInt('--top'), 10)
    .option('--keep', 'leave Kafka and TimescaleDB running afterwards', false)
    .action(async (opts: { file?: string; top: number; keep: boolean }, cmd: Command) => {
      const started = Date.now();
      await runDemo(configFrom(cmd), { file: opts.file, top: opts.top, keep: opts.keep, progress: true });
      process.stdout.write(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
