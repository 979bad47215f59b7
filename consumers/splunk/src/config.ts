import { z } from 'zod';
import { secret } from '@vigil/config/config';
import { registryUrlKey, SINK_INPUT_TOPICS, workerConfigShape } from '@vigil/pipeline/config';

/** The Splunk sink's config (section `splunk:`): the shared worker blocks and its own keys. */
export const configSchema = z.strictObject({
  ...workerConfigShape({ name: 'splunk', inputTopics: SINK_INPUT_TOPICS }),
  registryUrl: registryUrlKey(', to decode the records.'),
  url: z
    .string()
    .url()
    .default('https://127.0.0.1:8088')
    .describe('HTTP Event Collector base URL (the `/services/collector/...` paths are added).'),
  token: secret(z.string().min(1)).describe('HEC token (secret). Required.'),
  tlsCaFile: z
    .string()
    .optional()
    .describe(
      "PEM file of the CA that signed the collector's certificate (verification is always on).",
    ),
  index: z.string().min(1).optional().describe("Splunk index; unset: the token's default index."),
  source: z.string().min(1).default('vigil').describe('`source` of every event.'),
  sourcetypePrefix: z
    .string()
    .min(1)
    .default('vigil:')
    .describe('`sourcetype` is this prefix and the family (`vigil:process`).'),
  maxRequestBytes: z
    .number()
    .int()
    .min(1024)
    .default(800_000)
    .describe(
      "Most bytes per request (keep under the collector's max_content_length, 1 MB by default).",
    ),
  requestTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(30_000)
    .describe('Per request; a timeout is retried.'),
  ack: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          'Use indexer acknowledgement: a batch counts as stored only once Splunk acknowledges it.',
        ),
      channel: z
        .string()
        .uuid()
        .optional()
        .describe('Channel GUID; unset: a new one per worker start.'),
      timeoutMs: z
        .number()
        .int()
        .min(100)
        .default(120_000)
        .describe('How long to wait for acknowledgement before sending again (retryable).'),
      pollIntervalMs: z
        .number()
        .int()
        .min(10)
        .default(1000)
        .describe('How often acknowledgement is asked for.'),
    })
    .prefault({}),
  rememberIds: z
    .number()
    .int()
    .min(0)
    .default(100_000)
    .describe(
      'Event ids remembered as accepted, so that a batch written again (after a partial failure) does not send them twice.',
    ),
});

export type SplunkConfig = z.infer<typeof configSchema>;
