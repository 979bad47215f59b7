import { configFileFromArgs } from '@vigil/config/config';
import { runGateway } from './run.js';

// `vigil-gateway [--config file]`: the gateway as its own program (systemd runs this).
const file = configFileFromArgs();

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
