import { loadGatewayConfig } from './config.js';
import { createGateway } from './gateway.js';

/**
 * Runs a gateway until SIGTERM or SIGINT: loads and validates the config (before any I/O), starts,
 * and on a signal stops receiving, flushes within `shutdownTimeoutMs` and resolves (true when the
 * spool was empty). A second signal exits at once; the spool keeps what was not sent.
 * @throws {ConfigError} for a bad config; the listeners' errors when a port is taken.
 */
export async function runGateway(
  options: { file?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): Promise<boolean> {
  const config = loadGatewayConfig({
    file: options.file,
    ...(options.env ? { env: options.env } : {}),
  });
  const gateway = createGateway(config);
  await gateway.start();
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // The spool is on disk: exiting now loses nothing written to it.
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      }
      stopping = true;
      gateway.stop().then((drained) => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(drained);
      }, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
