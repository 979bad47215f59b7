import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The @vigil/preload package directory (its Makefile, tools/vigil-sign, tests/). */
export const preloadDir = dirname(
  createRequire(import.meta.url).resolve('@vigil/preload/package.json'),
);

/**
 * Builds the preload's signed test binaries (hello, hello-two, libhello.so, plain and their
 * wm-*.json; the Makefile's `sign/stamp` target) into `buildDir`/sign and returns that directory.
 * A build directory of the caller's own, not preload/build: the preload's `make test` builds the
 * same target in its tree at the same time under turbo, and two makes writing one file race.
 */
export function buildSignedBinaries(buildDir: string): string {
  execFileSync('make', ['-s', '-C', preloadDir, `B=${buildDir}`, join(buildDir, 'sign', 'stamp')], {
    stdio: 'inherit',
  });
  return join(buildDir, 'sign');
}
