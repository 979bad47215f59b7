import { runGateway } from './run.js';

// `vigil-gateway [--config file]`: the gateway as its own program (systemd runs this).
const args = process.argv.slice(2);
const at = args.findIndex((arg) => arg === '--config' || arg === '-c');
const file = at >= 0 ? args[at + 1] : process.env.VIGIL_CONFIG;

runGateway({ file }).then(
  (drained) => {
    // A backlog left in the spool is not a failure: the next start sends it.
    void drained;
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error(`vigil-gateway: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
