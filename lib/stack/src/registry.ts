import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { componentPaths, deployDir, mavenDownload, type Component } from './component.js';
import type { StackConfig } from './config.js';
import { kafkaBrokers } from './kafka.js';
import { getJson } from './probes.js';
import { ownershipMarker } from './process.js';

/** The Confluent-compatible API clients use (`@kafkajs/confluent-schema-registry` host). */
export function registryUrl(config: StackConfig): string {
  return `http://127.0.0.1:${config.registry.port}/apis/ccompat/v7`;
}

/**
 * Apicurio Registry 3.x (Quarkus "all" tarball from Maven Central) storing its schemas in Kafka
 * (kafkasql), so they survive restarts and live as long as the Kafka data directory.
 *
 * Two layouts exist: 3.0.x is a legacy runner jar serving health on the main port; 3.1+ is a
 * fast-jar (`quarkus-run.jar`) serving health on Quarkus' management port and needs Java 21.
 */
export function createRegistryComponent(config: StackConfig): Component {
  const { version, port, managementPort, heapMb, javaHome } = config.registry;
  const paths = componentPaths(config, 'registry');
  const home = join(config.cacheDir, `apicurio-registry-${version}`);
  const download = mavenDownload({
    pom: join(deployDir(), 'apicurio', 'pom.xml'),
    properties: { 'vigil.cache': config.cacheDir, 'registry.version': version },
    goals: ['package'],
    target: home,
    javaHome: config.javaHome,
  });
  const base = `http://127.0.0.1:${port}`;
  const runnerJar = join(home, `apicurio-registry-app-${version}-runner.jar`);
  const legacy = (): boolean => existsSync(runnerJar);
  const [major = 0, minor = 0] = version.split('.').map(Number);

  return {
    name: 'registry',
    endpoint: registryUrl(config),
    ports: [
      { port, key: 'registry.port' },
      ...(major === 3 && minor === 0
        ? []
        : [{ port: managementPort, key: 'registry.managementPort' }]),
    ],
    ...paths,
    java: { home: javaHome ?? config.javaHome, minMajor: major === 3 && minor === 0 ? 17 : 21 },
    graceMs: 20_000,
    version: () => Promise.resolve(version),
    fetched: () => download.fetched(),
    fetch: () => download.fetch(),
    async launch(java) {
      const snapshots = join(paths.dir, 'snapshots');
      await mkdir(snapshots, { recursive: true });
      // Property names from application.properties inside apicurio-registry-app-<version>.jar.
      // System properties rather than env so `ps` shows the whole configuration.
      const properties = {
        'quarkus.http.host': '127.0.0.1',
        'quarkus.http.port': port,
        // 3.1+: health lives on Quarkus' management interface (enabled at build time, port 9000 by default).
        ...(!legacy() && {
          'quarkus.management.host': '127.0.0.1',
          'quarkus.management.port': managementPort,
        }),
        'apicurio.storage.kind': 'kafkasql',
        'apicurio.kafkasql.bootstrap.servers': kafkaBrokers(config).join(','),
        'apicurio.storage.snapshot.location': snapshots,
      };
      return {
        command: java.executable,
        args: [
          `-Xms${Math.min(heapMb, 256)}m`,
          `-Xmx${heapMb}m`,
          '-Djava.awt.headless=true',
          ...ownershipMarker('registry', config.stateDir),
          ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
          '-jar',
          legacy() ? runnerJar : join(home, 'quarkus-run.jar'),
        ],
        cwd: paths.dir,
        pidFile: paths.pidFile,
        logFile: paths.logFile,
      };
    },
    async healthy() {
      // Ready means storage is up; the ccompat call proves the API clients use answers too.
      const health = legacy() ? base : `http://127.0.0.1:${managementPort}`;
      const ready = await getJson(`${health}/health/ready`);
      return (
        ready !== undefined && (await getJson(`${base}/apis/ccompat/v7/subjects`)) !== undefined
      );
    },
  };
}
