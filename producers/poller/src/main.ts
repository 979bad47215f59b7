import { runPoller } from './run.js';

/** `vigil-poll [--config file]`: the poller as its own process. SIGTERM and SIGINT drain and exit. */
const at = process.argv.findIndex((a) => a === '--config' || a === '-c');
const file = at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG;

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
