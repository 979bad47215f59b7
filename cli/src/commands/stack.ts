import type { Command } from 'commander';
import type { StackConfig } from '@vigil/stack/config';
import { createStack, type StackStatus } from '@vigil/stack/stack';

/**
 * `vigil stack up|status|down|fetch`: the local Kafka, schema registry and Elasticsearch. Progress
 * goes to stderr, the table of what runs where to stdout. Errors (a missing Java, a busy port)
 * reject with a StackError whose message main.ts prints as is.
 */
export function registerStackCommand(program: Command, loadConfig: () => StackConfig): void {
  const stack = program
    .command('stack')
    .description(
      'the local Kafka, schema registry and Elasticsearch (downloaded with Maven, run as background processes)',
    );
  const open = () => createStack(loadConfig(), { log: (line) => console.error(line) });

  stack
    .command('up')
    .description('download what is missing, start what is not running, wait until all is healthy')
    .action(async () => {
      console.log(formatStatus(await open().up()));
    });

  stack
    .command('status')
    .description('health of each component; exit code 1 unless all are healthy')
    .action(async () => {
      const status = await open().status();
      console.log(formatStatus(status));
      if (!status.healthy) process.exitCode = 1;
    });

  stack
    .command('down')
    .description('stop what `vigil stack up` started')
    .action(async () => {
      await open().down();
      console.error('stack stopped');
    });

  stack
    .command('fetch')
    .description('download every component into the cache (later runs work offline)')
    .action(async () => {
      await open().fetch();
      console.error('stack fetched');
    });
}

function formatStatus(status: StackStatus): string {
  const rows = [
    ['COMPONENT', 'VERSION', 'STATE', 'ENDPOINT', 'PID', 'RSS', 'LOG'],
    ...status.components.map((c) => [
      c.name,
      c.version,
      c.state,
      c.endpoint,
      c.pid === undefined ? '-' : String(c.pid),
      c.rssMb === undefined ? '-' : `${c.rssMb} MiB`,
      c.logFile,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
