import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@vigil/pipeline/testing';

/**
 * A private Elasticsearch node for tests that stop and restart it (the shared stack's node must
 * never be stopped: others use it). Same jars as the shared stack (`ensureStack()` first fetches
 * them), launched as deploy/local/elasticsearch/README.md says, on free ports, data in `home`.
 */
export interface PrivateElasticsearch {
  readonly url: string;
  /** Starts the node (again) on the same ports and data; resolves once the cluster is yellow or green. */
  start(): Promise<void>;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export async function createPrivateElasticsearch(home: string): Promise<PrivateElasticsearch> {
  const cache = process.env.VIGIL_CACHE_DIR ?? join(homedir(), '.cache', 'vigil');
  const lib = join(cache, 'elasticsearch', 'lib');
  if (!existsSync(lib)) throw new Error(`no Elasticsearch jars in ${lib}: run ensureStack() first`);
  const options = readFileSync(join(repoRoot, 'deploy/local/elasticsearch/jvm.options'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const httpPort = await freePort();
  const transportPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function healthy(): Promise<boolean> {
    try {
      const response = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
      const body = (await response.json()) as { status?: string };
      return body.status === 'green' || body.status === 'yellow';
    } catch {
      return false;
    }
  }

  return {
    url,
    async start() {
      child = spawn(
        java,
        [
          ...options,
          '-Xms256m',
          '-Xmx512m',
          '-cp',
          `${lib}/*`,
          'org.vigil.local.EsNode',
          '--home',
          home,
          '--http-port',
          String(httpPort),
          '--transport-port',
          String(transportPort),
          '--cluster-name',
          'vigil-private-test',
        ],
        { stdio: 'ignore' },
      );
      const running = child;
      exited = new Promise((resolve) => running.once('exit', () => resolve()));
      const deadline = Date.now() + 120_000;
      while (!(await healthy())) {
        if (running.exitCode !== null)
          throw new Error(`private Elasticsearch exited with ${running.exitCode}`);
        if (Date.now() > deadline) throw new Error('private Elasticsearch not healthy after 120 s');
        await delay(200);
      }
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      child = undefined;
    },
  };
}
