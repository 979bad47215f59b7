import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
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
 * Parsing fills every default, so `stackConfigSchema.parse({})` is a working stack on the usual ports.
 */
export const stackConfigSchema = z.strictObject({
  /** Maven-resolved distributions; shared by every checkout, safe to delete. */
  cacheDir: z.string().min(1).default(() => defaultCacheDir()),
  /** Pid files, logs and data of the running components. */
  stateDir: z.string().min(1).default(() => defaultStateDir()),
  /** A JDK/JRE ≥ 17; else `$JAVA_HOME`, else `java` on the PATH. */
  javaHome: z.string().min(1).optional(),
  kafka: z
    .strictObject({
      /**
       * Any org.apache.kafka:kafka_2.13 release with KRaft, 3.9.x or 4.x (4.4.0 is incomplete on
       * Maven Central: kafka-tools-api is missing).
       */
      version: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a release like 4.3.1').default('4.3.1'),
      port: port.default(9092),
      controllerPort: port.default(9093),
      heapMb: z.int().min(256).default(512),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /**
       * io.apicurio:apicurio-registry-app 3.x. 3.0.x runs on Java 17; 3.1 and later need Java 21
       * (set `registry.javaHome` then).
       */
      version: z.string().regex(/^3\.\d+\.\d+$/, 'expected an Apicurio Registry 3.x release').default('3.0.9'),
      port: port.default(8081),
      /** 3.1+ serve health on Quarkus' management port (default 9000, which we avoid); 3.0.x does not use it. */
      managementPort: port.default(8091),
      /** A Java for the registry alone (3.1+ needs 21); defaults to the stack's `javaHome`. */
      javaHome: z.string().min(1).optional(),
      heapMb: z.int().min(256).default(512),
    })
    .prefault({}),
  elasticsearch: z
    .strictObject({
      /** false leaves Elasticsearch out of `up`, `status` and `down`. */
      enabled: z.boolean().default(true),
      port: port.default(9200),
      transportPort: port.default(9300),
    })
    .prefault({}),
  /** How long `up` waits for each component to become healthy. */
  startTimeoutMs: z.int().positive().default(240_000),
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
 * Builds the stack configuration: schema defaults < file < environment.
 *
 * Environment overrides follow one mechanical mapping: the key path in SCREAMING_SNAKE_CASE after
 * `VIGIL_STACK_`, so `kafka.controllerPort` is `VIGIL_STACK_KAFKA_CONTROLLER_PORT`. Unknown
 * `VIGIL_STACK_*` variables are errors, like unknown keys in the file.
 *
 * Synchronous and free of side effects besides reading `file`.
 * @throws {StackError} listing every problem, each naming its key (`stack.kafka.port`) and, for
 *   overrides, the variable it came from.
 */
export function loadStackConfig(options: LoadStackConfigOptions = {}): StackConfig {
  const env = options.env ?? process.env;
  const raw = options.file ? readStackSection(options.file) : {};
  const fromEnv = new Map<string, string>();
  const problems: string[] = [];

  const leaves = new Map(schemaLeaves(stackConfigSchema).map((leaf) => [envName(leaf.path), leaf]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      problems.push(`${name}: not a stack setting (known: ${[...leaves.keys()].join(', ')})`);
      continue;
    }
    setPath(raw, leaf.path, envValue(value, leaf.type));
    fromEnv.set(leaf.path.join('.'), name);
  }
  // The documented directory defaults read the given env, not process.env, so tests stay hermetic.
  raw.cacheDir ??= defaultCacheDir(env);
  raw.stateDir ??= defaultStateDir(env);

  const result = stackConfigSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      const source = fromEnv.get(key);
      problems.push(`stack.${key}: ${issue.message}${source ? ` (from ${source})` : ''}`);
    }
  }
  if (problems.length > 0 || !result.success) {
    const where = options.file ? ` in ${options.file}` : '';
    throw new StackError(`invalid stack configuration${where}:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

function readStackSection(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new StackError(`reading config file ${file}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new StackError(`parsing config file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new StackError(`config file ${file}: expected a mapping at the top level`);
  const section = doc.stack;
  if (section === undefined || section === null) return {};
  if (!isRecord(section)) throw new StackError(`config file ${file}: stack: expected a mapping`);
  return structuredClone(section);
}

interface Leaf {
  path: string[];
  type: string;
}

type AnySchema = z.core.$ZodType;

/** Every settable key of an object schema, with its innermost zod type name (number, string, …). */
function schemaLeaves(schema: AnySchema, prefix: string[] = []): Leaf[] {
  const inner = unwrap(schema);
  if (inner._zod.def.type !== 'object') return [{ path: prefix, type: inner._zod.def.type }];
  const shape = (inner as z.core.$ZodObject)._zod.def.shape;
  return Object.entries(shape).flatMap(([key, child]) => schemaLeaves(child, [...prefix, key]));
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema };
    if (!def.innerType || !['default', 'prefault', 'optional', 'nullable'].includes(def.type)) return current;
    current = def.innerType;
  }
}

function envName(path: string[]): string {
  return ENV_PREFIX + path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Strings become numbers or booleans only when the schema wants one; anything else is left for zod to reject. */
function envValue(value: string, type: string): unknown {
  if (type === 'number' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (type === 'boolean' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isRecord(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
