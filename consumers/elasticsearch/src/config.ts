import { z } from 'zod';
import { secret } from '@vigil/config/config';
import { registryUrlKey, SINK_INPUT_TOPICS, workerConfigShape } from '@vigil/pipeline/config';

/** The Elasticsearch sink's config (section `elasticsearch:`): the shared worker blocks and its own keys. */
export const configSchema = z
  .strictObject({
    ...workerConfigShape({ name: 'elasticsearch', inputTopics: SINK_INPUT_TOPICS }),
    registryUrl: registryUrlKey(', to decode the records.'),
    url: z.string().url().default('http://127.0.0.1:9200').describe('Elasticsearch URL.'),
    username: z.string().optional().describe('Basic auth user (with password).'),
    password: secret(z.string()).optional().describe('Basic auth password (secret).'),
    apiKey: secret(z.string())
      .optional()
      .describe('API key, base64 id:key (secret); instead of username/password.'),
    tlsCaFile: z
      .string()
      .optional()
      .describe(
        "PEM file of the CA that signed Elasticsearch's certificate (verification is always on).",
      ),
    indexPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower case letters, digits, - and _ (an index name prefix)')
      .default('vigil')
      .describe('Indices are `<indexPrefix>-<family>-YYYY.MM.DD` (UTC day of the event time).'),
    numberOfReplicas: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Replicas per daily index (0 for a single node; raise it on a cluster).'),
    retentionDays: z
      .number()
      .int()
      .min(0)
      .default(30)
      .describe('Daily indices older than this many days are deleted; 0 keeps everything.'),
    retentionIntervalMs: z
      .number()
      .int()
      .min(1000)
      .default(3_600_000)
      .describe('How often old indices are looked for (also once at start).'),
    requestTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('Per bulk request; a timeout is retried.'),
    bulk: z
      .strictObject({
        initialDocs: z
          .number()
          .int()
          .min(1)
          .default(500)
          .describe('Documents per bulk request at start.'),
        minDocs: z.number().int().min(1).default(10).describe('Fewest documents per bulk request.'),
        maxDocs: z.number().int().min(1).default(5000).describe('Most documents per bulk request.'),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(10_485_760)
          .describe('Most bytes per bulk request body.'),
        targetLatencyMs: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe('Bulk requests slower than this shrink the size; faster ones grow it.'),
        itemRetries: z
          .number()
          .int()
          .min(0)
          .default(5)
          .describe(
            'Times items that got 429/5xx are re-sent inside one write before the batch is retried by the runtime.',
          ),
      })
      .refine((b) => b.minDocs <= b.initialDocs && b.initialDocs <= b.maxDocs, {
        message: 'bulk sizes must satisfy minDocs <= initialDocs <= maxDocs',
      })
      .prefault({}),
  })
  .refine((c) => (c.username === undefined) === (c.password === undefined), {
    message: 'username and password go together: set both or neither',
  })
  .refine((c) => c.apiKey === undefined || c.username === undefined, {
    message: 'set either apiKey or username/password, not both',
  });

export type ElasticsearchConfig = z.infer<typeof configSchema>;
