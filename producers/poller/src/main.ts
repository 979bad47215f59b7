import { configFileFromArgs } from '@vigil/config/config';
import { runPoller } from './run.js';

/** `vigil-poll [--config file]`: the poller as its own process. SIGTERM and SIGINT drain and exit. */
const file = configFileFromArgs();

try {
  const running = await runPoller({ file });
  const shutdown = () => {
    running.telemetry.log.info('stopping');
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  console.error(`vigil-poll: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
