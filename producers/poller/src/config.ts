import { hostname } from 'node:os';
import { z } from 'zod';
import { configTable, loadConfig, redactSecrets, secret } from '@vigil/config/config';

/**
 * `poller:` in the Vigil config file. Sources are a list; each names its adapter with `type`
 * [Vector configuration spec], its authentication, TLS settings and which hosts and services to watch.
 */

const ms = (description: string, fallback: number) =>
  z.number().int().positive().default(fallback).describe(description);

const pattern = z
  .string()
  .min(1)
  .refine(
    (p) => !(p.startsWith('/') && p.endsWith('/') && p.length > 1) || isRegex(p.slice(1, -1)),
    {
      message: 'not a valid regular expression between the slashes',
    },
  );

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export const authSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('basic'),
      username: z.string().min(1),
      password: secret(z.string()),
    }),
    z.strictObject({ type: z.literal('bearer'), token: secret(z.string().min(1)) }),
    z.strictObject({
      type: z.literal('checkmk-automation'),
      username: z.string().min(1),
      secret: secret(z.string().min(1)),
    }),
  ])
  .default({ type: 'none' })
  .describe(
    'none | basic {username, password} | bearer {token} | checkmk-automation {username, secret}',
  );
export type AuthConfig = z.infer<typeof authSchema>;

export const tlsSchema = z
  .strictObject({
    ca: z
      .string()
      .optional()
      .describe('PEM file of the CA(s) that sign the server certificate (default: system CAs)'),
    cert: z
      .string()
      .optional()
      .describe('PEM client certificate for mutual TLS (a grid certificate for CERN ETF)'),
    key: z.string().optional().describe('PEM private key of `cert`'),
    passphrase: secret(z.string()).optional().describe('passphrase of `key`'),
    servername: z
      .string()
      .optional()
      .describe('TLS server name, when it differs from the URL host'),
    insecureSkipVerify: z
      .boolean()
      .default(false)
      .describe('turn certificate verification off (never in production)'),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), {
    message: 'cert and key go together: set both for mutual TLS, or neither',
  })
  .default({ insecureSkipVerify: false });
export type TlsConfig = z.infer<typeof tlsSchema>;

const url = z.url({ protocol: /^https?$/ });

export const adapterSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('checkmk-view'),
    url: url.describe(
      'view export URL, e.g. https://etf/site/check_mk/view.py?view_name=svcproblems&output_format=csv_export',
    ),
    format: z.enum(['csv', 'json']).default('csv'),
  }),
  z.strictObject({
    type: z.literal('checkmk-rest'),
    url: url.describe('API root, e.g. https://cmk/site/check_mk/api/1.0'),
    version: z
      .enum(['2.0', '2.1', '2.2', '2.3', '2.4', '2.5'])
      .default('2.3')
      .describe('Checkmk version: GET with columns= up to 2.3, POST with a JSON body from 2.4'),
  }),
  z.strictObject({
    type: z.literal('livestatus'),
    address: z
      .string()
      .regex(
        /^(tcp:[^:]+:\d+|unix:\/.+)$/,
        'expected "tcp:<host>:<port>" or "unix:/path/to/socket"',
      )
      .describe('"tcp:<host>:<port>" or "unix:<path>"'),
  }),
  z.strictObject({
    type: z.literal('icinga2'),
    url: url.describe('API root, e.g. https://icinga:5665'),
    eventStream: z
      .boolean()
      .default(true)
      .describe('also listen on /v1/events and poll at once when a state changes'),
  }),
  z.strictObject({
    type: z.literal('nagios-status'),
    path: z.string().min(1).describe('path of status.dat'),
  }),
  z.strictObject({
    type: z.literal('nagios-json'),
    url: url.describe('statusjson.cgi URL (query=servicelist&details=true is added)'),
  }),
]);
export type AdapterConfig = z.infer<typeof adapterSchema>;
export type AdapterType = AdapterConfig['type'];

export const sourceSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .describe('unique source name'),
  site: z
    .string()
    .min(1)
    .optional()
    .describe('site name put in every event (default: the source name)'),
  adapter: adapterSchema,
  auth: authSchema,
  tls: tlsSchema,
  encoding: z
    .enum(['utf-8', 'latin1'])
    .default('utf-8')
    .describe('character encoding of the answers'),
  hosts: z
    .array(pattern)
    .default([])
    .describe('hosts to watch: names, globs (*, ?) or /regex/; empty = all'),
  services: z.array(pattern).default([]).describe('services to watch, same forms; empty = all'),
  intervalMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('poll interval (default: poller.intervalMs)'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('one poll must finish within this (default: poller.timeoutMs)'),
});
export type SourceConfig = z.infer<typeof sourceSchema>;

export const pollerSchema = z
  .strictObject({
    instance: z
      .string()
      .default('')
      .describe(
        'names this poller in producer ids and Icinga event queues (default: the host name)',
      ),
    kafka: z
      .strictObject({
        brokers: z
          .array(z.string().min(1))
          .min(1)
          .default(['127.0.0.1:9092'])
          .describe('Kafka bootstrap brokers'),
        clientId: z.string().default('vigil-poller').describe('Kafka client id'),
      })
      .prefault({}),
    registry: z
      .strictObject({
        url: z
          .string()
          .default('http://127.0.0.1:8081/apis/ccompat/v7')
          .describe('schema registry, Confluent API'),
      })
      .prefault({}),
    topic: z.string().default('vigil.status.v1').describe('where status events go'),
    stateTopic: z
      .string()
      .default('vigil.status-state.v1')
      .describe('compacted topic holding the last state of every service'),
    intervalMs: ms('default poll interval of a source', 60_000),
    timeoutMs: ms('default time limit of one poll', 20_000),
    jitterMs: z
      .number()
      .int()
      .min(0)
      .default(5_000)
      .describe('each poll starts up to this much later, so sources are not hit in step'),
    concurrency: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe('at most this many polls run at once'),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe('larger answers are an error'),
    metricsListen: z
      .string()
      .default('')
      .describe('"host:port" for /metrics (Prometheus); empty = off'),
    sources: z
      .array(sourceSchema)
      .default([])
      .describe('the monitoring servers to poll: list of source blocks, see below'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.sources.forEach((source, index) => {
      if (seen.has(source.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', index, 'name'],
          message: `duplicate source name "${source.name}": names must be unique`,
        });
      }
      seen.add(source.name);
    });
  });
export type PollerConfig = z.infer<typeof pollerSchema>;

export const CONFIG_SECTION = 'poller';
export const ENV_PREFIX = 'VIGIL_POLLER_';

/** Loads and validates the poller config (defaults < file < environment < flags). Throws ConfigError. */
export function loadPollerConfig(
  options: {
    file?: string | undefined;
    env?: NodeJS.ProcessEnv;
    flags?: Record<string, unknown>;
  } = {},
): PollerConfig {
  const config = loadConfig(pollerSchema, {
    section: CONFIG_SECTION,
    envPrefix: ENV_PREFIX,
    ...options,
  });
  return config.instance ? config : { ...config, instance: hostname() };
}

/** A copy safe to log: every value the schema marks secret replaced. Pure. */
export function redactPollerConfig(config: PollerConfig): PollerConfig {
  return redactSecrets(pollerSchema, config);
}

/** The README table of every setting. */
export function pollerConfigTable(): string {
  return configTable(pollerSchema, { section: CONFIG_SECTION, envPrefix: ENV_PREFIX });
}
