import { z } from 'zod';
import { registryUrlKey, SINK_INPUT_TOPICS, workerConfigShape } from '@vigil/pipeline/config';

/** The file sink's config (section `file:`): the shared worker blocks and its own keys. */
export const configSchema = z.strictObject({
  ...workerConfigShape({ name: 'file', inputTopics: SINK_INPUT_TOPICS }),
  registryUrl: registryUrlKey(', to decode the records.'),
  directory: z
    .string()
    .min(1)
    .default('/var/lib/vigil/files')
    .describe('Root directory: `<family>/` JSON lines files and `sessions/` asciicast files.'),
  jsonl: z
    .strictObject({
      maxBytes: z
        .number()
        .int()
        .min(1024)
        .default(268_435_456)
        .describe('A file is closed and a new one started beyond this size.'),
      maxAgeMs: z
        .number()
        .int()
        .min(1000)
        .default(3_600_000)
        .describe(
          'A file is closed this long after it was opened (checked at least every minute).',
        ),
      compression: z
        .enum(['none', 'zstd'])
        .default('none')
        .describe('Compress closed files with the zstd command (`.jsonl.zst`).'),
      zstdLevel: z.number().int().min(1).max(19).default(3).describe('zstd compression level.'),
      includeRaw: z
        .boolean()
        .default(true)
        .describe(
          'Add the record value, byte for byte, as base64 in `vigil.raw` (paths and terminal data need not be UTF-8).',
        ),
    })
    .prefault({}),
  asciicast: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Write one asciicast file per terminal session.'),
      version: z
        .union([z.literal(2), z.literal(3)])
        .default(2)
        .describe('asciicast format version: 2 (widest player support) or 3.'),
      maxOpenFiles: z
        .number()
        .int()
        .min(1)
        .default(256)
        .describe(
          'Open session files kept; the least recently written are closed (and reopened when needed).',
        ),
    })
    .prefault({}),
  rememberIds: z
    .number()
    .int()
    .min(0)
    .default(500_000)
    .describe(
      'Event ids remembered per family to skip events written again after a retry or restart.',
    ),
});

export type FileConfig = z.infer<typeof configSchema>;
