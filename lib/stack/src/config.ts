import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configTable, loadConfig } from '@vigil/config/config';
import { z } from 'zod';

import { StackError } from './errors.js';

const port = z.int().min(1).max(65_535);

/** Where downloads live: `$VIGIL_CACHE_DIR`, else `$XDG_CACHE_HOME/vigil`, else `~/.cache/vigil`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_CACHE_DIR) return env.VIGIL_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'vigil');
  return join(env.HOME ?? homedir(), '.cache', 'vigil');
}

/** Where pid files, logs and data live: `$VIGIL_STATE_DIR`, else `~/.local/state/vigil/stack`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIGIL_STATE_DIR) return env.VIGIL_STATE_DIR;
  return join(env.HOME ?? homedir(), '.local', 'state', 'vigil', 'stack');
}

/**
 * The local stack's configuration: the `stack:` key of the Vigil config file.
 * Every key but the two directories has a default; loadStackConfig fills those from the environment.
 */
export const stackConfigSchema = z.strictObject({
  cacheDir: z
    .string()
    .min(1)
    .describe(
      'Maven-resolved distributions, shared by every checkout, safe to delete. Default: $VIGIL_CACHE_DIR, else $XDG_CACHE_HOME/vigil, else ~/.cache/vigil',
    ),
  stateDir: z
    .string()
    .min(1)
    .describe(
      'Pid files, logs and data of the running components. Default: $VIGIL_STATE_DIR, else ~/.local/state/vigil/stack',
    ),
  javaHome: z
    .string()
    .min(1)
    .optional()
    .describe('A Java 17 or newer; else $JAVA_HOME, else java on the PATH'),
  kafka: z
    .strictObject({
      version: z
        .string()
        .regex(/^\d+\.\d+\.\d+$/, 'expected a release like 4.3.1')
        .default('4.3.1')
        // 4.4.0 is incomplete on Maven Central (no kafka-tools-api jar), so it cannot be resolved.
        .describe('org.apache.kafka:kafka_2.13 release with KRaft: 3.9.x or 4.x up to 4.3.x'),
      port: port.default(9092).describe('client listener on 127.0.0.1'),
      controllerPort: port.default(9093).describe('KRaft controller listener on 127.0.0.1'),
      heapMb: z.int().min(256).default(512).describe('JVM heap (-Xms and -Xmx)'),
    })
    .prefault({}),
  registry: z
    .strictObject({
      version: z
        .string()
        .regex(/^3\.\d+\.\d+$/, 'expected an Apicurio Registry 3.x release')
        .default('3.0.9')
        .describe(
          'io.apicurio:apicurio-registry-app release; 3.0.x runs on Java 17, 3.1 and later need Java 21 (see registry.javaHome)',
        ),
      port: port.default(8081).describe('HTTP API on 127.0.0.1 (ccompat at /apis/ccompat/v7)'),
      managementPort: port
        .default(8091)
        .describe(
          'Quarkus management port serving health in 3.1+ (its default, 9000, clashes too often); unused by 3.0.x',
        ),
      javaHome: z
        .string()
        .min(1)
        .optional()
        .describe("A Java for the registry alone; default: the stack's javaHome"),
      heapMb: z.int().min(256).default(512).describe('JVM heap (-Xmx)'),
    })
    .prefault({}),
  elasticsearch: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('false leaves Elasticsearch out of up and status'),
      port: port.default(9200).describe('HTTP on 127.0.0.1'),
      transportPort: port.default(9300).describe('transport on 127.0.0.1'),
    })
    .prefault({}),
  startTimeoutMs: z
    .int()
    .positive()
    .default(240_000)
    .describe('how long up waits for each component to become healthy'),
});

/** A validated stack configuration, every default filled. */
export type StackConfig = z.infer<typeof stackConfigSchema>;

/** Options of {@link loadStackConfig}. */
export interface LoadStackConfigOptions {
  /** A YAML file whose `stack:` key holds the configuration; other keys are ignored. */
  file?: string;
  /** Environment for overrides and directory defaults; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const ENV_PREFIX = 'VIGIL_STACK_';

/**
 * Builds the stack configuration: schema defaults < file (its `stack:` key) < environment, with
 * the mechanical mapping of @vigil/config (`kafka.controllerPort` is
 * `VIGIL_STACK_KAFKA_CONTROLLER_PORT`; unknown `VIGIL_STACK_*` variables are errors).
 *
 * Synchronous and free of side effects besides reading `file`.
 * @throws {StackError} listing every problem, each naming its key (`stack.kafka.port`) and, for
 *   overrides, the variable it came from.
 */
export function loadStackConfig(options: LoadStackConfigOptions = {}): StackConfig {
  const env = options.env ?? process.env;
  try {
    return loadConfig(stackConfigSchema, {
      section: 'stack',
      envPrefix: ENV_PREFIX,
      file: options.file,
      env,
      // The documented directory defaults read the given env, not process.env, so tests stay hermetic.
      defaults: { cacheDir: defaultCacheDir(env), stateDir: defaultStateDir(env) },
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new StackError(error.message, { cause: error });
    throw error;
  }
}

/**
 * The Markdown table of every setting (key, environment variable, default, meaning), generated
 * from the schema so the README cannot drift from it (a test compares them). Pure.
 */
export function stackConfigTable(): string {
  return configTable(stackConfigSchema, { section: 'stack', envPrefix: ENV_PREFIX });
}
