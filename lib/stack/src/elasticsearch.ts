import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { componentPaths, deployDir, mavenDownload, type Component } from './component.js';
import type { StackConfig } from './config.js';
import { getJson } from './probes.js';
import { ownershipMarker } from './process.js';

/** The HTTP endpoint of the local Elasticsearch node. */
export function elasticsearchUrl(config: StackConfig): string {
  return `http://127.0.0.1:${config.elasticsearch.port}`;
}

/**
 * Elasticsearch 8.x as an embedded node (`org.vigil.local.EsNode`), built by
 * deploy/local/elasticsearch/pom.xml. That folder owns the launcher; this file only follows its
 * contract: jars in `<cache>/elasticsearch/lib`, JVM flags one per line in `jvm.options`,
 * `--home --http-port --transport-port --cluster-name`, foreground until SIGTERM.
 */
export function createElasticsearchComponent(config: StackConfig): Component {
  const { port, transportPort } = config.elasticsearch;
  const paths = componentPaths(config, 'elasticsearch');
  const source = join(deployDir(), 'elasticsearch');
  const lib = join(config.cacheDir, 'elasticsearch', 'lib');
  const download = mavenDownload({
    pom: join(source, 'pom.xml'),
    properties: { 'vigil.cache': config.cacheDir },
    goals: ['package'],
    target: join(config.cacheDir, 'elasticsearch'),
    // The launcher is compiled from this folder, so a changed EsNode.java must rebuild too.
    sources: [join(source, 'src')],
    javaHome: config.javaHome,
  });

  return {
    name: 'elasticsearch',
    endpoint: elasticsearchUrl(config),
    ports: [
      { port, key: 'elasticsearch.port' },
      { port: transportPort, key: 'elasticsearch.transportPort' },
    ],
    ...paths,
    java: { home: config.javaHome, minMajor: 17 },
    graceMs: 30_000,
    async version() {
      // The pom owns the version; the server jar's name tells which one was fetched.
      const jars = await readdir(lib).catch(() => [] as string[]);
      const match = jars
        .map((jar) => /^elasticsearch-(\d+\.\d+\.\d+)\.jar$/.exec(jar))
        .find(Boolean);
      return match?.[1] ?? 'unknown';
    },
    fetched: () => download.fetched(),
    fetch: () => download.fetch(),
    async launch(java) {
      const home = join(paths.dir, 'home');
      await mkdir(home, { recursive: true });
      return {
        command: java.executable,
        args: [
          ...(await jvmOptions(join(source, 'jvm.options'))),
          '-Xms512m',
          '-Xmx1g',
          ...ownershipMarker('elasticsearch', config.stateDir),
          '-cp',
          `${lib}/*`,
          'org.vigil.local.EsNode',
          '--home',
          home,
          '--http-port',
          String(port),
          '--transport-port',
          String(transportPort),
          '--cluster-name',
          'vigil-local',
        ],
        cwd: paths.dir,
        pidFile: paths.pidFile,
        logFile: paths.logFile,
      };
    },
    async healthy() {
      const health = await getJson(`${elasticsearchUrl(config)}/_cluster/health`);
      const status = (health as { status?: unknown } | undefined | null)?.status;
      return status === 'green' || status === 'yellow';
    },
  };
}

/** One JVM flag per line; blank lines and `#` comments skipped. A missing file means no flags. */
async function jvmOptions(file: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
