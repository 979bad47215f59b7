import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { componentPaths, deployDir, mavenDownload, type Component } from './component.js';
import type { StackConfig } from './config.js';
import { StackError } from './errors.js';
import { kafkaAnswers } from './probes.js';
import { ownershipMarker } from './process.js';

const run = promisify(execFile);

/** The bootstrap address clients use. */
export function kafkaBrokers(config: StackConfig): string[] {
  return [`127.0.0.1:${config.kafka.port}`];
}

/**
 * Apache Kafka in KRaft mode, one process as broker and controller, jars resolved from Maven
 * Central by deploy/local/kafka/pom.xml.
 */
export function createKafkaComponent(config: StackConfig): Component {
  const { version, port, controllerPort, heapMb } = config.kafka;
  const paths = componentPaths(config, 'kafka');
  const home = join(config.cacheDir, `kafka-${version}`);
  const pom = join(deployDir(), 'kafka', 'pom.xml');
  const download = mavenDownload({
    pom,
    properties: { 'vigil.cache': config.cacheDir, 'kafka.version': version },
    goals: ['package'],
    target: home,
    javaHome: config.javaHome,
  });
  // Kafka cannot downgrade its metadata log, so each minor release gets its own data directory:
  // switching between 4.1 and 3.9 for the compatibility run never corrupts either.
  const dataDir = join(paths.dir, `data-${version.split('.').slice(0, 2).join('.')}`);
  const propertiesFile = join(paths.dir, 'server.properties');
  const classpath = `${join(home, 'lib')}/*`;
  const log4j = `-Dlog4j2.configurationFile=${join(deployDir(), 'kafka', 'log4j2.xml')}`;

  return {
    name: 'kafka',
    endpoint: kafkaBrokers(config).join(','),
    ports: [
      { port, key: 'kafka.port' },
      { port: controllerPort, key: 'kafka.controllerPort' },
    ],
    ...paths,
    java: { home: config.javaHome, minMajor: 17 },
    graceMs: 30_000,
    version: () => Promise.resolve(version),
    fetched: () => download.fetched(),
    fetch: () => download.fetch(),
    async launch(java) {
      await mkdir(paths.dir, { recursive: true });
      // Rewritten on every start so a changed port takes effect; the data directory keeps the state.
      await writeFile(propertiesFile, serverProperties(config, dataDir));
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        const clusterId = kafkaUuid();
        const args = [
          '-cp',
          classpath,
          log4j,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          propertiesFile,
          '--ignore-formatted',
        ];
        try {
          const { stdout, stderr } = await run(java.executable, args, { timeout: 120_000 });
          await appendFile(
            paths.logFile,
            `[vigil] formatted ${dataDir} as cluster ${clusterId}\n${stdout}${stderr}`,
          );
        } catch (cause) {
          const error = cause as { stdout?: string; stderr?: string };
          throw new StackError(
            `formatting kafka storage in ${dataDir}: ${`${error.stderr ?? ''}${error.stdout ?? ''}`.trim()}`,
            { cause },
          );
        }
      }
      return {
        command: java.executable,
        args: [
          `-Xms${heapMb}m`,
          `-Xmx${heapMb}m`,
          // The flags bin/kafka-server-start.sh uses.
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-XX:InitiatingHeapOccupancyPercent=35',
          '-XX:+ExplicitGCInvokesConcurrent',
          '-Djava.awt.headless=true',
          log4j,
          ...ownershipMarker('kafka', config.stateDir),
          '-cp',
          classpath,
          'kafka.Kafka',
          propertiesFile,
        ],
        cwd: paths.dir,
        pidFile: paths.pidFile,
        logFile: paths.logFile,
      };
    },
    healthy: () => kafkaAnswers(kafkaBrokers(config)),
  };
}

/** A combined broker+controller on 127.0.0.1 with single-node replication settings. */
export function serverProperties(config: StackConfig, dataDir: string): string {
  const { port, controllerPort } = config.kafka;
  const lines = [
    '# Written by @vigil/stack on every start; edit the stack config, not this file.',
    'process.roles=broker,controller',
    'node.id=1',
    // Static voters work on 3.9 and 4.x alike; no --standalone/dynamic quorum needed for one node.
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // 4.x share groups; 3.9 logs these as unknown and carries on.
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Dev convenience: a consumer group starts at once instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    // Dev convenience; tests still create their own topics so they never depend on it.
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    '',
  ];
  return lines.join('\n');
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (Kafka's Uuid.toString). */
function kafkaUuid(): string {
  return randomBytes(16).toString('base64url');
}
