import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayConfigSchema } from '@vigil/gateway/config';
import { createGateway, type Gateway } from '@vigil/gateway/gateway';
import { createKafka, ensureTopics, type TopicSpec } from '@vigil/pipeline/kafka';
import type { StackEndpoints } from '@vigil/stack/stack';
import { freePort, waitFor } from '@vigil/pipeline/testing';
import { workerMain } from './worker.js';

/**
 * The whole path, with real parts only: a program run under the preload library → the gateway →
 * Kafka → verify (signature, watermarks) → enrich (user names, modules, classes) → the
 * Elasticsearch sink; then the document is searched for in Elasticsearch. Workers run as their own
 * processes, exactly as `vigil worker <name>` starts them. Topics carry a per-run prefix so runs
 * do not see each other's events; documents land in the usual `vigil-process-*` indices.
 */

const PRELOAD = fileURLToPath(
  new URL('../../../preload/build/libvigil-preload.so', import.meta.url),
);
const KEY_ID = 'demo';

/** Starts a worker with its config in the environment; resolves once its /healthz answers 200. */
async function startWorker(name: string, settings: Record<string, string>): Promise<ChildProcess> {
  const port = await freePort();
  const prefix = `VIGIL_${name.toUpperCase()}_`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [key, value] of Object.entries({
    ...settings,
    HEALTH_HOST: '127.0.0.1',
    HEALTH_PORT: String(port),
    LOG_LEVEL: 'warn',
  })) {
    env[prefix + key] = value;
  }
  const child = spawn(process.execPath, [workerMain(name)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`demo: the ${name} worker exited (status ${code})`)),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([
    exited,
    waitFor(
      `the ${name} worker's health check`,
      // Connection refused until the worker listens: not ready yet.
      async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
      90_000,
    ),
  ]);
  console.log(
    `started  the ${name} worker (pid ${child.pid}, /metrics and /healthz on 127.0.0.1:${port})`,
  );
  return child;
}

/**
 * A gateway inside the demo's process, receiving UDP on a free loopback port and producing to the
 * stack's Kafka (topics prefixed with `topicPrefix`); started, so `addresses` holds the real port.
 */
export async function demoGateway(
  endpoints: StackEndpoints,
  spoolDir: string,
  topicPrefix = '',
): Promise<Gateway> {
  const gateway = createGateway(
    gatewayConfigSchema.parse({
      id: 'demo',
      listen: ['udp:127.0.0.1:0'],
      kafka: { brokers: endpoints.kafkaBrokers, topicPrefix },
      registry: { url: endpoints.registryUrl },
      spool: { dir: spoolDir },
      http: { port: 0 },
      logLevel: 'warn',
    }),
  );
  await gateway.start();
  return gateway;
}

interface ProcessDocument {
  user?: { name?: string };
  process?: { executable?: string; args?: string[]; pid?: number; exit_code?: number };
  vigil?: { signature?: { status?: string } };
}

/** Runs the pipeline demo; resolves once the program's document is in Elasticsearch. */
export async function runPipelineDemo(endpoints: StackEndpoints): Promise<void> {
  if (!existsSync(PRELOAD)) {
    console.log(`skipping the process pipeline: ${PRELOAD} is not built (npm run build)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-pipeline-'));
  const key = randomBytes(32);
  writeFileSync(join(dir, `${KEY_ID}.key`), `${key.toString('hex')}\n`, { mode: 0o600 });
  const prefix = `demo-${Date.now().toString(36)}.`;
  const topic = (name: string) => `${prefix}${name}`;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'vigil-demo' });
  const spec = (name: string, cleanupPolicy: TopicSpec['cleanupPolicy'] = 'delete'): TopicSpec => ({
    topic: topic(name),
    numPartitions: 1,
    replicationFactor: 1,
    cleanupPolicy,
  });
  await ensureTopics(kafka, [
    spec('vigil.process.v1'),
    spec('vigil.watermark.v1', 'compact'),
    spec('vigil.process.verified.v1'),
    spec('vigil.process.enriched.v1'),
    spec('vigil.quarantine.v1'),
    spec('vigil.dlq.v1'),
  ]);

  const children: ChildProcess[] = [];
  const gateway = await demoGateway(endpoints, join(dir, 'spool'), prefix);
  try {
    const common = {
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      REGISTRY_URL: endpoints.registryUrl,
      DEAD_LETTER_TOPIC: topic('vigil.dlq.v1'),
    };
    children.push(
      await startWorker('verify', {
        ...common,
        KAFKA_TOPICS: topic('vigil.process.v1'),
        KAFKA_GROUP_ID: `${prefix}verify`,
        KEYS_DIR: dir,
        WATERMARK_TOPIC: topic('vigil.watermark.v1'),
        QUARANTINE_TOPIC: topic('vigil.quarantine.v1'),
      }),
      await startWorker('enrich', {
        ...common,
        KAFKA_TOPICS: topic('vigil.process.verified.v1'),
        KAFKA_GROUP_ID: `${prefix}enrich`,
        OUTPUT_TOPIC: topic('vigil.process.enriched.v1'),
      }),
      await startWorker('elasticsearch', {
        ...common,
        KAFKA_TOPICS: topic('vigil.process.enriched.v1'),
        KAFKA_GROUP_ID: `${prefix}elasticsearch`,
        URL: endpoints.elasticsearchUrl,
      }),
    );

    // A real program, traced by the preload library, as on a cluster node inside a batch job.
    const collector = gateway.addresses[0]!;
    const args = ['-c', 'exit 0'];
    const run = spawnSync('/bin/bash', args, {
      env: {
        PATH: process.env.PATH,
        LD_PRELOAD: PRELOAD,
        VIGIL_ACTIVE: '1',
        VIGIL_COLLECTOR: `udp://${collector.replace(/^udp:/, '')}`,
        VIGIL_KEY_ID: KEY_ID,
        VIGIL_KEY_FILE: join(dir, `${KEY_ID}.key`),
        SLURM_JOB_ID: '4242',
        LOADEDMODULES: 'gcc/12.2.0:openmpi/4.1.6',
      },
    });
    console.log(
      `ran      /bin/bash ${args.join(' ')} under the preload library (pid ${run.pid}, exit ${run.status})`,
    );

    const search = async (): Promise<ProcessDocument | undefined> => {
      const response = await fetch(`${endpoints.elasticsearchUrl}/vigil-process-*/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: { term: { 'process.pid': run.pid } },
          sort: [{ '@timestamp': 'desc' }],
        }),
      });
      if (!response.ok) return undefined;
      const hits = (
        (await response.json()) as { hits: { hits: Array<{ _source: ProcessDocument }> } }
      ).hits.hits;
      return hits[0]?._source;
    };
    let found: ProcessDocument | undefined;
    await waitFor(
      'the document of the program in Elasticsearch',
      async () => (found = await search()) !== undefined,
      90_000,
    );
    console.log(
      `indexed  ${found!.process?.executable} by ${found!.user?.name ?? '?'} in vigil-process-*, ` +
        `signature ${found!.vigil?.signature?.status ?? '?'}: preload → gateway → verify → enrich → Elasticsearch`,
    );
  } finally {
    // A worker that already exited emits no second 'exit': waiting for it would hang the demo and
    // hide the error that got us here.
    const running = children.filter(
      (child) => child.exitCode === null && child.signalCode === null,
    );
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(
      running.map((child) => new Promise((resolve) => child.once('exit', resolve))),
    );
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
