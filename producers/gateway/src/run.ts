import { loadGatewayConfig } from './config.js';
import { createGateway } from './gateway.js';

/**
 * Runs a gateway until SIGTERM or SIGINT: loads and validates the config (before any I/O), starts,
 * and on a signal stops receiving, flushes within `shutdownTimeoutMs` and resolves (true when the
 * spool was empty). A signal during start-up stops the gateway as soon as it is up. A second
 * signal exits at once; the spool keeps what was not sent.
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
  let signalled: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // The spool is on disk: exiting now loses nothing written to it.
    if (++signals > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    signalled!();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await gateway.start();
    await stopRequested;
    return await gateway.stop();
  } catch (error) {
    await gateway.stop().catch(() => undefined);
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
