import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { StackError } from './errors.js';

const run = promisify(execFile);

const INSTALL_HINT = 'apt-get install openjdk-17-jre-headless maven';

/** The Java runtime the stack runs on. */
export interface JavaRuntime {
  /** Absolute path, or `java` resolved through the PATH. */
  executable: string;
  /** Feature release, e.g. 17. */
  major: number;
}

/**
 * Finds Java ≥ 17: `javaHome`, else `$JAVA_HOME`, else `java` on the PATH.
 * @throws {StackError} one line naming what to install when Java is missing or too old.
 */
export async function findJava(
  javaHome: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<JavaRuntime> {
  const home = javaHome ?? env.JAVA_HOME;
  const executable = home ? join(home, 'bin', 'java') : 'java';
  let output: string;
  try {
    // `java -version` writes to stderr on every JDK we know of.
    const { stdout, stderr } = await run(executable, ['-version'], { timeout: 30_000 });
    output = `${stderr}\n${stdout}`;
  } catch {
    throw new StackError(
      `Java 17 or newer is required but ${executable} was not found; install it: ${INSTALL_HINT}`,
    );
  }
  const major = parseJavaMajor(output);
  if (major === undefined || major < 17) {
    const found = major === undefined ? 'an unknown version' : `Java ${major}`;
    throw new StackError(
      `Java 17 or newer is required but ${executable} is ${found}; install it: ${INSTALL_HINT}`,
    );
  }
  return { executable, major };
}

/** Parses `java -version` output ("1.8.0_392" is 8, "17.0.15" is 17, "21" is 21). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/**
 * Runs Maven in batch mode against one of the deploy/local poms.
 * @throws {StackError} naming what to install when `mvn` is missing, or with Maven's last output lines when the build fails.
 */
export async function runMaven(
  pom: string,
  properties: Record<string, string>,
  goals: string[],
  javaHome?: string,
): Promise<void> {
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    pom,
    ...Object.entries(properties).map(([k, v]) => `-D${k}=${v}`),
    ...goals,
  ];
  const env = javaHome ? { ...process.env, JAVA_HOME: javaHome } : process.env;
  try {
    await run('mvn', args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 });
  } catch (cause) {
    const error = cause as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (error.code === 'ENOENT') {
      throw new StackError(
        `Maven is required to download the stack but mvn was not found; install it: ${INSTALL_HINT}`,
      );
    }
    // Keep Maven's own message, drop its generic "re-run with -X" advice.
    const tail = `${error.stdout ?? ''}${error.stderr ?? ''}`
      .split('\n')
      .filter(
        (line) =>
          !/^\[ERROR\]\s*$|Re-run Maven|To see the full stack trace|For more information about|\[Help 1\] http/.test(
            line,
          ),
      )
      .join('\n')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new StackError(`running mvn -f ${pom}:\n${tail}`, { cause });
  }
}
