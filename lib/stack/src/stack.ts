import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import type { Component, ComponentName } from './component.js';
import { loadStackConfig, type StackConfig } from './config.js';
import { createElasticsearchComponent, elasticsearchUrl } from './elasticsearch.js';
import { StackError } from './errors.js';
import { createKafkaComponent, kafkaBrokers } from './kafka.js';
import { withLock } from './lock.js';
import { portInUse } from './probes.js';
import {
  isOurProcess,
  ownershipMarker,
  pidFileTime,
  readPid,
  residentMb,
  spawnDetached,
  stopProcess,
} from './process.js';
import { createRegistryComponent, registryUrl } from './registry.js';
import { findJava, type JavaRuntime } from './tools.js';

export type { ComponentName } from './component.js';

/**
 * - `healthy`: answers its health check (ours, or a compatible process already on the port).
 * - `starting`: our process runs but is not healthy yet, within `startTimeoutMs` of its start.
 * - `unhealthy`: our process runs but has not become healthy within `startTimeoutMs`.
 * - `stopped`: no process of ours and nothing healthy on the port.
 */
export type ComponentState = 'healthy' | 'starting' | 'unhealthy' | 'stopped';

/** One component as `status` sees it. */
export interface ComponentStatus {
  name: ComponentName;
  state: ComponentState;
  /** Our process, when one runs; absent for a healthy process we did not start. */
  pid?: number;
  /** Resident memory of `pid` (Linux). */
  rssMb?: number;
  endpoint: string;
  version: string;
  logFile: string;
}

/** Every enabled component, in start order. */
export interface StackStatus {
  components: ComponentStatus[];
  /** True when every component is `healthy`. */
  healthy: boolean;
}

/** Where clients find the stack. */
export interface StackEndpoints {
  kafkaBrokers: string[];
  /** The Confluent-compatible API, ending in `/apis/ccompat/v7`. */
  registryUrl: string;
  elasticsearchUrl: string;
}

/** The local stack: Kafka, Apicurio Registry and Elasticsearch as background processes. */
export interface Stack {
  /**
   * Downloads every component into `cacheDir` with Maven. Idempotent; does no network I/O once
   * cached. Throws {@link StackError} when Java or Maven is missing or a download fails.
   */
  fetch(): Promise<void>;
  /**
   * Fetches what is missing, starts what is not running (Kafka, then the registry and
   * Elasticsearch in parallel) and resolves once all are healthy. A no-op when already healthy.
   * Holds `<stateDir>/stack.lock`, so concurrent calls from several processes start things once.
   * Throws {@link StackError} when a component exits, a port is taken, or `startTimeoutMs` passes;
   * processes already started keep running (see `status`, `down`).
   */
  up(): Promise<StackStatus>;
  /** Probes every component; never throws for an unhealthy or stopped one. */
  status(): Promise<StackStatus>;
  /**
   * Stops what `up` started (pid files whose process still carries our marker): SIGTERM, then
   * SIGKILL after a grace period. Resolves when none of those processes is left. Safe to repeat.
   */
  down(): Promise<void>;
}

/** Injected effects of {@link createStack}. */
export interface StackDeps {
  /** Progress lines ("started kafka 4.3.1 …"); silent by default. */
  log?: (line: string) => void;
}

/** Where a stack with `config` listens; pure. */
export function endpointsOf(config: StackConfig): StackEndpoints {
  return {
    kafkaBrokers: kafkaBrokers(config),
    registryUrl: registryUrl(config),
    elasticsearchUrl: elasticsearchUrl(config),
  };
}

/** How long a second `up` waits for the first one (which may be downloading 200 MB). */
const LOCK_WAIT_MS = 20 * 60_000;
const POLL_MS = 500;

/** Creates a handle on the local stack described by `config`; starts nothing by itself. */
export function createStack(config: StackConfig, deps: StackDeps = {}): Stack {
  const log = deps.log ?? (() => undefined);
  const kafka = createKafkaComponent(config);
  const registry = createRegistryComponent(config);
  const elasticsearch = createElasticsearchComponent(config);
  const followers = [registry, ...(config.elasticsearch.enabled ? [elasticsearch] : [])];
  const all = [kafka, ...followers];
  const lockFile = join(config.stateDir, 'stack.lock');
  const markers = (component: Component): string[] =>
    ownershipMarker(component.name, config.stateDir);

  async function ourPid(component: Component): Promise<number | undefined> {
    const pid = await readPid(component.pidFile);
    return pid !== undefined && (await isOurProcess(pid, markers(component))) ? pid : undefined;
  }

  async function statusOf(component: Component): Promise<ComponentStatus> {
    const [pid, healthy, configured] = await Promise.all([
      ourPid(component),
      component.healthy(),
      component.version(),
    ]);
    // A running process reports the release it was started with, which may not be the configured one.
    const version = (pid !== undefined && (await runningVersion(component))) || configured;
    let state: ComponentState = healthy ? 'healthy' : 'stopped';
    if (!healthy && pid !== undefined) {
      const startedAt = (await pidFileTime(component.pidFile)) ?? 0;
      state = Date.now() - startedAt < config.startTimeoutMs ? 'starting' : 'unhealthy';
    }
    const rssMb = pid === undefined ? undefined : await residentMb(pid);
    return {
      name: component.name,
      state,
      ...(pid !== undefined && { pid }),
      ...(rssMb !== undefined && { rssMb }),
      endpoint: component.endpoint,
      version,
      logFile: component.logFile,
    };
  }

  async function status(): Promise<StackStatus> {
    const components = await Promise.all(all.map(statusOf));
    return { components, healthy: components.every((c) => c.state === 'healthy') };
  }

  async function fetchMissing(): Promise<void> {
    // One at a time: parallel Maven runs race on the same ~/.m2 files.
    for (const component of all) {
      if (await component.fetched()) continue;
      const started = Date.now();
      const version = await component.version();
      log(`fetching ${component.name}${version === 'unknown' ? '' : ` ${version}`} with maven …`);
      await component.fetch();
      log(`fetched ${component.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  const javas = new Map<string, Promise<JavaRuntime>>();
  /** The Java `component` runs on, checked once per Java home. */
  async function javaFor(component: Component): Promise<JavaRuntime> {
    const home = component.java.home;
    const key = home ?? '';
    if (!javas.has(key)) javas.set(key, findJava(home));
    const java = await javas.get(key)!;
    if (java.major < component.java.minMajor) {
      throw new StackError(
        `${component.name} ${await component.version()} needs Java ${component.java.minMajor} or newer but ${java.executable} is Java ${java.major}; ` +
          `set stack.${component.name}.javaHome to one, or pick a release that runs on Java ${java.major}`,
      );
    }
    return java;
  }

  async function ensureRunning(component: Component): Promise<void> {
    let pid = await ourPid(component);
    if (pid === undefined) {
      if (await component.healthy()) {
        log(
          `${component.name}: reusing the healthy instance at ${component.endpoint} (not started by vigil)`,
        );
        return;
      }
      for (const { port, key } of component.ports) {
        if (await portInUse(port)) {
          throw new StackError(
            `${component.name}: port ${port} is in use by another process; stop it or set stack.${key}`,
          );
        }
      }
      const spec = await component.launch(await javaFor(component));
      pid = await spawnDetached(spec);
      await writeFile(versionFile(component), `${await component.version()}\n`);
      log(
        `started ${component.name} ${await component.version()} (pid ${pid}, log ${component.logFile})`,
      );
    }
    const started = Date.now();
    const deadline = started + config.startTimeoutMs;
    for (;;) {
      if (await component.healthy()) {
        log(
          `${component.name} healthy at ${component.endpoint} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        return;
      }
      if (!(await isOurProcess(pid, markers(component)))) {
        throw new StackError(
          `${component.name} exited while starting; last lines of ${component.logFile}:\n${await logTail(component.logFile)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new StackError(
          `${component.name} (pid ${pid}) not healthy after ${config.startTimeoutMs / 1000} s; see ${component.logFile}, or run vigil stack down`,
        );
      }
      await delay(POLL_MS);
    }
  }

  return {
    async fetch() {
      await withLock(lockFile, LOCK_WAIT_MS, async () => {
        await findJava(config.javaHome);
        await fetchMissing();
      });
    },

    up() {
      return withLock(lockFile, LOCK_WAIT_MS, async () => {
        const before = await status();
        const configured = await Promise.all(all.map((component) => component.version()));
        before.components.forEach((component, index) => {
          const wanted = configured[index]!;
          if (component.pid !== undefined && wanted !== 'unknown' && component.version !== wanted) {
            throw new StackError(
              `${component.name} ${component.version} is running but the config asks for ${wanted}; run vigil stack down first`,
            );
          }
        });
        if (before.healthy) return before;
        // Check every Java before downloading or starting anything, so a missing one costs nothing.
        for (const component of all) await javaFor(component);
        await fetchMissing();
        await ensureRunning(kafka);
        // Both need only Kafka (the registry stores its schemas there), so they boot side by side.
        const results = await Promise.allSettled(
          followers.map((component) => ensureRunning(component)),
        );
        const failures = results.flatMap((result) =>
          result.status === 'rejected' ? [result.reason as unknown] : [],
        );
        if (failures.length === 1) throw failures[0];
        if (failures.length > 1)
          throw new StackError(failures.map((failure) => (failure as Error).message).join('\n'));
        return status();
      });
    },

    status,

    down() {
      return withLock(lockFile, LOCK_WAIT_MS, async () => {
        // Followers first: the registry flushes to Kafka on shutdown. Elasticsearch even when
        // disabled now, in case an earlier `up` started it.
        for (const group of [[registry, elasticsearch], [kafka]]) {
          await Promise.all(
            group.map(async (component) => {
              const pid = await readPid(component.pidFile);
              if (pid === undefined) return;
              log(`stopping ${component.name} (pid ${pid})`);
              await stopProcess(pid, markers(component), component.pidFile, component.graceMs);
            }),
          );
        }
      });
    },
  };
}

/**
 * For integration tests: resolves the endpoints of a healthy local stack, reusing the running one
 * or bringing it up (downloads included, so the first call can take minutes). Without `config`,
 * reads the environment (`VIGIL_STACK_*`) via {@link loadStackConfig}.
 * @throws {StackError} as {@link Stack.up} does.
 */
export async function ensureStack(
  config: StackConfig = loadStackConfig(),
): Promise<StackEndpoints> {
  await createStack(config).up();
  return endpointsOf(config);
}

function versionFile(component: Component): string {
  return join(component.dir, `${component.name}.version`);
}

/** The release our running process was started with (written next to its pid file). */
async function runningVersion(component: Component): Promise<string | undefined> {
  const text = await readFile(versionFile(component), 'utf8').catch(() => '');
  return text.trim() || undefined;
}

async function logTail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
