import { z } from 'zod';
import { configTable, loadConfig, redactSecrets } from '@vigil/config/config';
import {
  kafkaClientConfig,
  kafkaSecurityShape,
  registryUrlKey,
  saslTogether,
} from '@vigil/pipeline/config';
import type { KafkaConfig } from '@vigil/pipeline/kafka';

/**
 * `signer:` in the Vigil config file: where `vigil sign` registers watermarks and with which key.
 * The Kafka keys have the names and meaning of the workers' `kafka` block (@vigil/pipeline/config),
 * without the consumer-group keys a producer does not have.
 */
export const signerSchema = z
  .strictObject({
    kafka: z
      .strictObject({
        brokers: z
          .array(z.string().min(1))
          .min(1)
          .default(['127.0.0.1:9092'])
          .describe('Kafka bootstrap brokers, host:port.'),
        clientId: z
          .string()
          .min(1)
          .default('vigil-signer')
          .describe('Client id sent to the brokers.'),
        ...kafkaSecurityShape,
      })
      .refine(...saslTogether)
      .prefault({}),
    registryUrl: registryUrlKey(' where the WatermarkEvent schema is registered.'),
    topic: z
      .string()
      .min(1)
      .default('vigil.watermark.v1')
      .describe('The compacted watermark registry the verify worker reads (created if missing).'),
    keyId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Id of the site's HMAC key: the verify worker holds the same key as `<keyId>.key` in its keysDir.",
      ),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File holding that key in hex (blanks ignored), the format of the preload key_file.',
      ),
    allowUnsigned: z
      .boolean()
      .default(false)
      .describe(
        'Publish registrations without a signature when no key is set (a verify worker that requires signatures ignores them).',
      ),
    signTool: z
      .string()
      .default('')
      .describe(
        'Path of the vigil-sign script; empty: tools/vigil-sign of the installed @vigil/preload.',
      ),
  })
  .refine((c) => (c.keyId === undefined) === (c.keyFile === undefined), {
    message: 'keyId and keyFile go together: set both to sign, or neither',
  });
export type SignerConfig = z.infer<typeof signerSchema>;

export const CONFIG_SECTION = 'signer';
export const ENV_PREFIX = 'VIGIL_SIGNER_';

/**
 * Loads and validates the signer config (defaults < file < environment < flags, flags by key path
 * such as `keyId`). No I/O but reading `file`. Throws ConfigError listing every problem.
 */
export function loadSignerConfig(
  options: {
    file?: string | undefined;
    env?: NodeJS.ProcessEnv;
    flags?: Record<string, unknown>;
  } = {},
): SignerConfig {
  return loadConfig(signerSchema, {
    section: CONFIG_SECTION,
    envPrefix: ENV_PREFIX,
    ...options,
  });
}

/** A copy safe to log: every value the schema marks secret replaced. Pure. */
export function redactSignerConfig(config: SignerConfig): SignerConfig {
  return redactSecrets(signerSchema, config);
}

/** The README table of every setting. */
export function signerConfigTable(): string {
  return configTable(signerSchema, { section: CONFIG_SECTION, envPrefix: ENV_PREFIX });
}

/** The KafkaConfig of the `kafka` block, as the workers build theirs; reads the CA file. */
export function kafkaConfigOfSigner(config: SignerConfig): KafkaConfig {
  return kafkaClientConfig(config.kafka);
}
