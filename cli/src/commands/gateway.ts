import type { Command } from 'commander';
import { runGateway } from '@vigil/gateway/run';

/**
 * `vigil gateway`: the node gateway (producers/gateway) in the foreground, configured by the
 * `gateway:` section of --config and VIGIL_GATEWAY_* variables. Exits after SIGTERM once the
 * backlog is sent or the shutdown deadline has passed (the spool keeps the rest).
 */
export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description(
      'receive preload datagrams and recorder streams, spool them, produce them to Kafka',
    )
    .action(async () => {
      await runGateway({ file: program.opts<{ config?: string }>().config });
    });
}
