import { Command } from 'commander';
import { loadStackConfig } from '@vigil/stack/config';
import { registerStackCommand } from './commands/stack.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerPollCommand } from './commands/poll.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerRecCommand } from './commands/rec.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerKibanaCommand } from './commands/kibana.js';
import { registerSignCommand } from './commands/sign.js';

/**
 * `vigil`: one program whose subcommands start every part of Vigil. Each subcommand reads the
 * config file given with --config (defaults < file < environment < flags).
 */
const program = new Command('vigil')
  .description(
    'Vigil: what runs on your cluster, what users do on login nodes, whether services are up',
  )
  .option('-c, --config <file>', 'YAML config file (every part reads its own section)')
  .showHelpAfterError();

const loadConfig = () =>
  loadStackConfig({ file: program.opts<{ config?: string }>().config, env: process.env });

registerStackCommand(program, loadConfig);
registerDemoCommand(program, loadConfig);
registerPollCommand(program);
registerWorkerCommand(program);
registerRecCommand(program);
registerGatewayCommand(program);
registerKibanaCommand(program);
registerSignCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Expected failures (a missing Java, a port in use) carry a message meant for the user.
  console.error(`vigil: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
