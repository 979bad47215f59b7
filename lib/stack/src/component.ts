import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { StackConfig } from './config.js';
import { StackError } from './errors.js';
import type { LaunchSpec } from './process.js';
import { runMaven, type JavaRuntime } from './tools.js';

/** The components of the local stack, in start order. */
export type ComponentName = 'kafka' | 'registry' | 'elasticsearch';

/** One process of the local stack: how to download, launch and health-check it. */
export interface Component {
  name: ComponentName;
  /** What clients connect to (`127.0.0.1:9092`, `http://…`). */
  endpoint: string;
  /** Ports it listens on; checked before start so a foreign process gives a clear error. */
  ports: { port: number; key: string }[];
  /** `<stateDir>/<name>` */
  dir: string;
  pidFile: string;
  logFile: string;
  /** The Java it runs on: its own home (else the stack's) and the oldest feature release it accepts. */
  java: { home?: string; minMajor: number };
  /** Milliseconds between SIGTERM and SIGKILL on `down`. */
  graceMs: number;
  /** The release that runs (or would run). */
  version(): Promise<string>;
  /** True when the download is in the cache and matches the current pom. */
  fetched(): Promise<boolean>;
  /** Resolves the distribution into the cache with Maven. Idempotent; offline once ~/.m2 has it. */
  fetch(): Promise<void>;
  /** Prepares state (e.g. formats Kafka storage on first start) and says what to spawn. */
  launch(java: JavaRuntime): Promise<LaunchSpec>;
  /** One health probe; never throws. */
  healthy(): Promise<boolean>;
}

/** The folder holding deploy/local/<component>/ poms and configs, found from this file's location. */
export function deployDir(): string {
  // src/ and dist/ both sit at lib/stack/<dir>/, three levels below the repository root.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'local');
}

/** Paths every component shares: `<stateDir>/<name>/<name>.{pid,log}`. */
export function componentPaths(
  config: StackConfig,
  name: ComponentName,
): Pick<Component, 'dir' | 'pidFile' | 'logFile'> {
  const dir = join(config.stateDir, name);
  return { dir, pidFile: join(dir, `${name}.pid`), logFile: join(dir, `${name}.log`) };
}

/**
 * A Maven-resolved download with a marker file. The marker holds a hash of the pom and the
 * properties, so editing the pom (or switching versions) fetches again while an unchanged
 * setup never touches the network.
 */
export function mavenDownload(options: {
  pom: string;
  properties: Record<string, string>;
  goals: string[];
  target: string;
  javaHome?: string;
  /** Source folders the build compiles, besides the pom (hashed into the marker too). */
  sources?: string[];
}): {
  fetched(): Promise<boolean>;
  fetch(): Promise<void>;
} {
  const marker = join(options.target, '.vigil-fetched');
  const fingerprint = async (): Promise<string> => {
    const hash = createHash('sha256')
      .update(await readFile(options.pom))
      .update(JSON.stringify(options.properties));
    for (const file of await sourceFiles(options.sources ?? []))
      hash.update(file).update(await readFile(file));
    return hash.digest('hex');
  };
  return {
    async fetched() {
      if (!existsSync(options.pom)) return false;
      const recorded = await readFile(marker, 'utf8').catch(() => '');
      return recorded.trim() === (await fingerprint());
    },
    async fetch() {
      if (!existsSync(options.pom))
        throw new StackError(`missing ${options.pom}; is this a complete Vigil checkout?`);
      if (await this.fetched()) return;
      await runMaven(options.pom, options.properties, options.goals, options.javaHome);
      await mkdir(options.target, { recursive: true });
      await writeFile(marker, `${await fingerprint()}\n`);
    },
  };
}

async function sourceFiles(dirs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const dir of dirs) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
  }
  return files.sort();
}
