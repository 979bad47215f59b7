import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Configuration for every Vigil component, the same way [Vector, OpenTelemetry Collector]:
 * one zod `strictObject` schema per component is its type, defaults, validation and docs.
 * Precedence: schema defaults < the component's section of the YAML file < environment < flags.
 * Everything is validated once, before any I/O, and every problem is reported with its key.
 */

/** Invalid configuration. The message lists every problem, one per line, each naming its key. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [], options?: { cause?: unknown }) {
    super(problems.length > 0 ? `${message}:\n  ${problems.join('\n  ')}` : message, options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The top-level key of the YAML file this component reads, for example "gateway". */
  readonly section: string;
  /** Prefix of the environment overrides, for example "VIGIL_GATEWAY_". */
  readonly envPrefix: string;
  /** A YAML file; other components' sections in it are ignored. */
  readonly file?: string | undefined;
  /** Environment for overrides; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Defaults that depend on the machine (directories), by key path; below the file. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** Values from command-line flags, by key path ("kafka.port"); they win over everything. */
  readonly flags?: Readonly<Record<string, unknown>>;
}

/**
 * Builds a component's configuration. Environment overrides follow one mechanical mapping: the key
 * path in SCREAMING_SNAKE_CASE after the prefix, so `kafka.controllerPort` under prefix
 * `VIGIL_STACK_` is `VIGIL_STACK_KAFKA_CONTROLLER_PORT`. Unknown variables with the prefix are
 * errors, like unknown keys in the file. Synchronous; its only I/O is reading `file`.
 * @throws {ConfigError} listing every problem, each naming its key (`gateway.listen.0`) and, for
 *   overrides, the variable it came from.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions): z.infer<S> {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.defaults ?? {}))
    setPath(raw, key.split('.'), value);
  mergeInto(raw, options.file ? readSection(options.file, options.section) : {});
  const fromEnv = new Map<string, string>();
  const problems: string[] = [];

  const leaves = new Map(
    configLeaves(schema).map((leaf) => [envName(options.envPrefix, leaf.path), leaf]),
  );
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(options.envPrefix) || value === undefined) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      problems.push(
        `${name}: not a ${options.section} setting (known: ${[...leaves.keys()].join(', ')})`,
      );
      continue;
    }
    setPath(raw, leaf.path, envValue(value, leaf));
    fromEnv.set(leaf.path.join('.'), name);
  }
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value !== undefined) setPath(raw, key.split('.'), value);
  }

  const result = schema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      const source = fromEnv.get(key);
      problems.push(
        `${options.section}${key ? `.${key}` : ''}: ${issue.message}${source ? ` (from ${source})` : ''}`,
      );
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new ConfigError(
      `invalid ${options.section} configuration${options.file ? ` in ${options.file}` : ''}`,
      problems,
    );
  }
  return result.data;
}

/** One settable key of a schema. */
export interface ConfigLeaf {
  readonly path: readonly string[];
  /** The innermost zod type name: string, number, boolean, array, union, ... */
  readonly type: string;
  readonly description: string | undefined;
  readonly defaultValue: unknown;
  /** The key's own schema, defaults and all. */
  readonly schema: AnySchema;
}

type AnySchema = z.core.$ZodType;

/** Every settable key of an object schema, depth first, in declaration order. Pure. */
export function configLeaves(schema: AnySchema, prefix: readonly string[] = []): ConfigLeaf[] {
  const inner = unwrap(schema);
  if (inner._zod.def.type !== 'object') {
    const outer = schema._zod.def as { type: string; defaultValue?: unknown };
    return [
      {
        path: prefix,
        type: inner._zod.def.type,
        schema,
        description:
          z.globalRegistry.get(schema)?.description ?? z.globalRegistry.get(inner)?.description,
        defaultValue: outer.type === 'default' ? outer.defaultValue : undefined,
      },
    ];
  }
  const shape = (inner as z.core.$ZodObject)._zod.def.shape;
  return Object.entries(shape).flatMap(([key, child]) => configLeaves(child, [...prefix, key]));
}

/**
 * The Markdown table of every setting (key, environment variable, default, meaning), generated from
 * the schema so a README cannot drift from it. Pure.
 */
export function configTable(
  schema: AnySchema,
  options: Pick<LoadConfigOptions, 'section' | 'envPrefix'>,
): string {
  const rows = configLeaves(schema).map((leaf) => {
    const description = (leaf.description ?? '').replaceAll('|', '\\|');
    const fallback =
      leaf.defaultValue === undefined ? '' : `\`${JSON.stringify(leaf.defaultValue)}\``;
    return `| \`${leaf.path.join('.')}\` | \`${envName(options.envPrefix, leaf.path)}\` | ${fallback} | ${description} |`;
  });
  return [
    `| key (under \`${options.section}:\`) | environment | default | meaning |`,
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The environment variable of a key path: `kafka.controllerPort` → `<prefix>KAFKA_CONTROLLER_PORT`. */
export function envName(prefix: string, path: readonly string[]): string {
  return (
    prefix + path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
  );
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

/**
 * An environment value is text; the key's schema says what it means. Tries the text itself, then a
 * number, a boolean and a comma-separated list, and keeps the first reading the schema accepts (so
 * `2 | 3` literals, enums and lists all work). When none is accepted, the reading of the key's type
 * goes to zod, so its error points inside (`listen.1`, not `listen`).
 */
function envValue(value: string, leaf: ConfigLeaf): unknown {
  const trimmed = value.trim();
  const asNumber = /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
  const asBoolean = /^(true|false)$/i.test(trimmed) ? trimmed.toLowerCase() === 'true' : undefined;
  const asList = trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
  const readings = [value, asNumber, asBoolean, asList].filter((r) => r !== undefined);
  const accepted = readings.find((reading) => z.safeParse(leaf.schema, reading).success);
  if (accepted !== undefined) return accepted;
  if (leaf.type === 'array') return asList;
  if (leaf.type === 'number') return asNumber ?? value;
  if (leaf.type === 'boolean') return asBoolean ?? value;
  return value;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isRecord(existing) && isRecord(value)) mergeInto(existing, value);
    else target[key] = value;
  }
}

function readSection(file: string, section: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`reading config file ${file}: ${(cause as Error).message}`, [], {
      cause,
    });
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc))
    throw new ConfigError(`config file ${file}: expected a mapping at the top level`);
  const value = doc[section];
  if (value === undefined || value === null) return {};
  if (!isRecord(value))
    throw new ConfigError(`config file ${file}: ${section}: expected a mapping`);
  return structuredClone(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Marks a schema as a secret: `redactSecrets` replaces its value before a config is logged
 * [Benthos `.Secret()`].
 */
export function secret<S extends z.ZodType>(schema: S): S {
  return schema.meta({ secret: true });
}

/**
 * A copy of a config with every secret value replaced by "[redacted]", safe to log. Follows the
 * schema into nested objects, lists, records and unions (for a union, what any member marks secret
 * is redacted). Pure.
 */
export function redactSecrets<T>(schema: AnySchema, config: T): T {
  return redactValue(schema, structuredClone(config)) as T;
}

function isSecret(schema: AnySchema): boolean {
  return Boolean((z.globalRegistry.get(schema) as { secret?: boolean } | undefined)?.secret);
}

function redactValue(schema: AnySchema, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (isSecret(schema)) return '[redacted]';
  const inner = unwrap(schema);
  if (isSecret(inner)) return '[redacted]';
  const def = inner._zod.def as {
    type: string;
    shape?: Record<string, AnySchema>;
    element?: AnySchema;
    valueType?: AnySchema;
    options?: readonly AnySchema[];
    in?: AnySchema;
  };
  switch (def.type) {
    case 'object':
      if (!isRecord(value)) return value;
      for (const [key, child] of Object.entries(def.shape ?? {})) {
        if (key in value) value[key] = redactValue(child, value[key]);
      }
      return value;
    case 'array':
      return Array.isArray(value) ? value.map((item) => redactValue(def.element!, item)) : value;
    case 'record':
      if (!isRecord(value)) return value;
      for (const key of Object.keys(value)) value[key] = redactValue(def.valueType!, value[key]);
      return value;
    case 'union':
      return (def.options ?? []).reduce<unknown>(
        (current, option) => redactValue(option, current),
        value,
      );
    case 'pipe':
      return redactValue(def.in!, value);
    default:
      return value;
  }
}

/**
 * The config file a component's own program was given: `--config <file>`, `--config=<file>` or
 * `-c <file>` on its command line, else `$VIGIL_CONFIG`, else none. Every `main.ts` reads it here.
 */
export function configFileFromArgs(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
    if ((arg === '--config' || arg === '-c') && argv[i + 1] !== undefined) return argv[i + 1];
  }
  return env.VIGIL_CONFIG || undefined;
}
