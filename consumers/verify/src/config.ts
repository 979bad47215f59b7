import { z } from 'zod';
import { registryUrlKey, workerConfigShape } from '@vigil/pipeline/config';

/** The families whose raw topics verify reads by default (every one but the watermark registry). */
export const DEFAULT_INPUT_TOPICS = [
  'vigil.process.v1',
  'vigil.session.v1',
  'vigil.status.v1',
  'vigil.trace.v1',
  'vigil.alert.v1',
];

/** The verify worker's config: the shared worker blocks and its own keys (section `verify:`). */
export const configSchema = z.strictObject({
  ...workerConfigShape({ name: 'verify', inputTopics: DEFAULT_INPUT_TOPICS }),
  registryUrl: registryUrlKey('.'),
  keysDir: z
    .string()
    .min(1)
    .default('/etc/vigil/keys')
    .describe(
      'Directory of HMAC keys: one file `<key id>.key` per key, the key in hex (blanks ignored), as the preload library reads it.',
    ),
  keysReloadMs: z
    .number()
    .int()
    .min(0)
    .default(60_000)
    .describe('How often the key directory is read again (rotation without restart); 0: never.'),
  requireSignature: z
    .boolean()
    .default(true)
    .describe('Quarantine unsigned events (false: pass them on marked `unsigned`).'),
  replayWindowMs: z
    .number()
    .int()
    .min(1000)
    .default(600_000)
    .describe('How long an event id is remembered to refuse a replay.'),
  replayWindowMaxIds: z
    .number()
    .int()
    .min(1000)
    .default(1_000_000)
    .describe('Most event ids remembered (the oldest are forgotten first).'),
  watermarkTopic: z
    .string()
    .min(1)
    .default('vigil.watermark.v1')
    .describe('The compacted registry of issued watermarks (`vigil sign`).'),
  quarantineTopic: z
    .string()
    .min(1)
    .default('vigil.quarantine.v1')
    .describe('Where invalid events go, with header `vigil-quarantine-reason`.'),
  createTopics: z
    .boolean()
    .default(false)
    .describe('Create the verified, quarantine and dead-letter topics at start when missing.'),
});

export type VerifyConfig = z.infer<typeof configSchema>;

/** The verified topic of a raw topic: `vigil.process.v1` → `vigil.process.verified.v1`. Pure. */
export function verifiedTopicOf(topic: string): string {
  const match = /^(.*)\.(v\d+)$/.exec(topic);
  return match ? `${match[1]}.verified.${match[2]}` : `${topic}.verified`;
}
