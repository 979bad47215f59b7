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
  cacheDir: z
    .string()
    .min(1)
    .default(() => defaultCacheDir())
    .describe(
      'Maven-resolved distributions, shared by every checkout, safe to delete. Default: $VIGIL_CACHE_DIR, else $XDG_CACHE_HOME/vigil, else ~/.cache/vigil',
    ),
  stateDir: z
    .string()
    .min(1)
    .default(() => defaultStateDir())
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
  if (!isRecord(doc))
    throw new StackError(`config file ${file}: expected a mapping at the top level`);
  const section = doc.stack;
  if (section === undefined || section === null) return {};
  if (!isRecord(section)) throw new StackError(`config file ${file}: stack: expected a mapping`);
  return structuredClone(section);
}

/**
 * The Markdown table of every setting (key, environment variable, default, meaning), generated
 * from the schema so the README cannot drift from it (a test compares them). Pure.
 */
export function stackConfigTable(): string {
  const rows = schemaLeaves(stackConfigSchema).map((leaf) => {
    const description = leaf.description ?? '';
    // Directory defaults depend on the machine; their description says how they are found.
    const fallback =
      description.includes('Default:') || leaf.defaultValue === undefined
        ? ''
        : `\`${JSON.stringify(leaf.defaultValue)}\``;
    return `| \`${leaf.path.join('.')}\` | \`${envName(leaf.path)}\` | ${fallback} | ${description.replaceAll('|', '\\|')} |`;
  });
  return [
    '| key (under `stack:`) | environment | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

interface Leaf {
  path: string[];
  type: string;
  description?: string;
  defaultValue?: unknown;
}

type AnySchema = z.core.$ZodType;

/** Every settable key of an object schema, with its innermost zod type name (number, string, …). */
function schemaLeaves(schema: AnySchema, prefix: string[] = []): Leaf[] {
  const inner = unwrap(schema);
  if (inner._zod.def.type !== 'object') {
    const outer = schema._zod.def as { type: string; defaultValue?: unknown };
    return [
      {
        path: prefix,
        type: inner._zod.def.type,
        description: z.globalRegistry.get(schema)?.description,
        defaultValue: outer.type === 'default' ? outer.defaultValue : undefined,
      },
    ];
  }
  const shape = (inner as z.core.$ZodObject)._zod.def.shape;
  return Object.entries(shape).flatMap(([key, child]) => schemaLeaves(child, [...prefix, key]));
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema };
    if (!def.innerType || !['default', 'prefault', 'optional', 'nullable'].includes(def.type))
      return current;
    current = def.innerType;
  }
}

function envName(path: string[]): string {
  return (
    ENV_PREFIX +
    path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
  );
}

/** Strings become numbers or booleans only when the schema wants one; anything else is left for zod to reject. */
function envValue(value: string, type: string): unknown {
  if (type === 'number' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (type === 'boolean' && /^(true|false)$/i.test(value.trim()))
    return value.trim().toLowerCase() === 'true';
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
