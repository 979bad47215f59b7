import { z } from 'zod';
import { registryUrlKey, workerConfigShape } from '@vigil/pipeline/config';

/** Classes of binaries by where they live. */
export const PATH_CLASSES = ['system', 'site', 'home', 'scratch', 'other'] as const;
export type PathClass = (typeof PATH_CLASSES)[number];

/** First matching prefix wins; no match is `other`. */
export const DEFAULT_PATH_RULES: ReadonlyArray<{ prefix: string; class: PathClass }> = [
  { prefix: '/usr/local/', class: 'site' },
  { prefix: '/usr/', class: 'system' },
  { prefix: '/bin/', class: 'system' },
  { prefix: '/sbin/', class: 'system' },
  { prefix: '/lib/', class: 'system' },
  { prefix: '/lib64/', class: 'system' },
  { prefix: '/etc/', class: 'system' },
  { prefix: '/opt/', class: 'site' },
  { prefix: '/cvmfs/', class: 'site' },
  { prefix: '/apps/', class: 'site' },
  { prefix: '/sw/', class: 'site' },
  { prefix: '/home/', class: 'home' },
  { prefix: '/users/', class: 'home' },
  { prefix: '/root/', class: 'home' },
  { prefix: '/scratch/', class: 'scratch' },
  { prefix: '/tmp/', class: 'scratch' },
  { prefix: '/var/tmp/', class: 'scratch' },
  { prefix: '/dev/shm/', class: 'scratch' },
];

/** The enrich worker's config: the shared worker blocks and its own keys (section `enrich:`). */
export const configSchema = z.strictObject({
  ...workerConfigShape({ name: 'enrich', inputTopics: ['vigil.process.verified.v1'] }),
  registryUrl: registryUrlKey('.'),
  outputTopic: z
    .string()
    .min(1)
    .default('vigil.process.enriched.v1')
    .describe('Where the ECS documents (JSON) go.'),
  passwdFile: z.string().min(1).default('/etc/passwd').describe('passwd(5) file for user names.'),
  groupFile: z.string().min(1).default('/etc/group').describe('group(5) file for group names.'),
  directoryReloadMs: z
    .number()
    .int()
    .min(0)
    .default(300_000)
    .describe('How often the passwd and group files are read again; 0: never.'),
  pathRules: z
    .array(z.strictObject({ prefix: z.string().min(1), class: z.enum(PATH_CLASSES) }))
    .default(DEFAULT_PATH_RULES.map((r) => ({ ...r })))
    .describe(
      'Binary classification: the first rule whose prefix starts the path wins; none: other.',
    ),
  joinCacheSize: z
    .number()
    .int()
    .min(0)
    .default(100_000)
    .describe('Process starts (and early ends) remembered to join an end to its start.'),
  createTopics: z
    .boolean()
    .default(false)
    .describe('Create the output and dead-letter topics at start when missing.'),
});

export type EnrichConfig = z.infer<typeof configSchema>;
