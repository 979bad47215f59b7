import { InvalidArgumentError, type Command } from 'commander';
import { parseUuid } from '@vigil/pipeline/events';
import {
  expectedOfWatermarkFile,
  runSignLink,
  runSignObject,
  runSignRegister,
  type SignRunOptions,
} from '@vigil/signer/run';

/**
 * `vigil sign`: link-time watermarks (producers/signer). `object` writes the note object
 * (preload/tools/vigil-sign), `register` publishes a linked file's registration to the watermark
 * topic, signed with the site key, `link` does both around a linker command.
 */

interface SigningFlags {
  keyId?: string;
  keyFile?: string;
  allowUnsigned?: boolean;
  topic?: string;
}

interface ObjectFlags {
  package: string;
  version: string;
  builder?: string;
  align?: 4 | 8;
}

function parseAlign(value: string): 4 | 8 {
  if (value === '4' || value === '8') return Number(value) as 4 | 8;
  throw new InvalidArgumentError('the note alignment is 4 or 8');
}

function withObjectOptions(command: Command): Command {
  return command
    .requiredOption('--package <name>', 'software package, e.g. openmpi')
    .requiredOption('--version <version>', 'its version, e.g. 4.1.6')
    .option('--builder <who>', 'who builds it (default: $USER)')
    .option(
      '--align <4|8>',
      'note alignment; 8 puts the note in its own 8-aligned segment',
      parseAlign,
    );
}

function withSigningOptions(command: Command): Command {
  return command
    .option('--key-id <id>', 'id of the site HMAC key (signer.keyId)')
    .option('--key-file <file>', 'file holding that key in hex (signer.keyFile)')
    .option('--allow-unsigned', 'publish without a signature when no key is set')
    .option('--topic <topic>', 'watermark topic (signer.topic, default vigil.watermark.v1)');
}

export function registerSignCommand(program: Command): void {
  const runOptions = (flags: SigningFlags): SignRunOptions => ({
    file: program.opts<{ config?: string }>().config,
    flags: {
      keyId: flags.keyId,
      keyFile: flags.keyFile,
      allowUnsigned: flags.allowUnsigned ? true : undefined,
      topic: flags.topic,
    },
  });
  const sign = program
    .command('sign')
    .description(
      'link-time watermarks: write the ELF note object, link it, register the binary to Kafka',
    );

  withObjectOptions(
    sign
      .command('object')
      .description('write an object file that adds a fresh watermark note; prints one JSON line'),
  )
    .requiredOption('--out <file>', 'the object file to write')
    .action(async (flags: ObjectFlags & { out: string }) => {
      process.exitCode = await runSignObject({
        ...runOptions({}),
        object: { ...flags },
      });
    });

  withSigningOptions(
    sign
      .command('register')
      .description(
        'publish the registration of linked files that carry the watermark (refuses any that do not); one JSON line per file',
      )
      .argument('<file...>', 'linked programs or libraries')
      .option('--watermark <file>', 'the JSON line `vigil sign object` printed')
      .option('--id <uuid>', 'the watermark id, instead of --watermark'),
  ).action(async (files: string[], flags: SigningFlags & { watermark?: string; id?: string }) => {
    if (Boolean(flags.watermark) === Boolean(flags.id))
      throw new InvalidArgumentError('give either --watermark <file> or --id <uuid>');
    const expected = flags.watermark
      ? await expectedOfWatermarkFile(flags.watermark)
      : { id: parseUuid(flags.id!) };
    await runSignRegister({ ...runOptions(flags), expected, files });
  });

  withSigningOptions(
    withObjectOptions(
      sign
        .command('link')
        .description(
          'write the note object, run the linker command with it appended, register its -o output; a failed link keeps its exit status',
        )
        .argument('<command...>', 'the linker command, after --: -- gcc -o prog prog.c'),
    ),
  ).action(async (linker: string[], flags: ObjectFlags & SigningFlags) => {
    process.exitCode = await runSignLink({
      ...runOptions(flags),
      object: {
        package: flags.package,
        version: flags.version,
        builder: flags.builder,
        align: flags.align,
      },
      linker,
    });
  });
}
