import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What to run for one component, and where its pid and output go. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  pidFile: string;
  logFile: string;
}

/**
 * The JVM system property that marks a process as ours. `down` only signals a pid whose command
 * line still carries it, so a stale pid file never kills a process that reused the number.
 */
export function ownershipMarker(component: string, stateDir: string): string[] {
  return [`-Dvigil.stack.component=${component}`, `-Dvigil.stack.state=${stateDir}`];
}

/**
 * Starts `spec` in its own process group, detached from the caller, output appended to the log
 * file, and writes the pid file. Resolves once the process exists; it outlives the caller.
 */
export async function spawnDetached(spec: LaunchSpec): Promise<number> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  await mkdir(dirname(spec.pidFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    await writeFile(spec.pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(out);
  }
}

/** The pid in `pidFile`, or undefined when the file is missing or garbage. */
export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** When the pid file was written, i.e. when the process was started (ms since epoch). */
export async function pidFileTime(pidFile: string): Promise<number | undefined> {
  try {
    return (await stat(pidFile)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * True while `pid` is alive and its command line carries every marker. A zombie has an empty
 * command line, so it counts as gone.
 */
export async function isOurProcess(pid: number, markers: string[]): Promise<boolean> {
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || (await procMounted())) return false;
    // No /proc (macOS): ask ps.
    try {
      cmdline = (await run('ps', ['-o', 'args=', '-p', String(pid)])).stdout;
    } catch {
      return false;
    }
  }
  return markers.every((marker) => cmdline.includes(marker));
}

async function procMounted(): Promise<boolean> {
  try {
    await stat('/proc/self');
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of `pid` in MiB (Linux only; undefined elsewhere or when gone). */
export async function residentMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops the process group led by `pid`: SIGTERM, then SIGKILL once `graceMs` has passed. Resolves
 * when no process carrying the markers is left, and removes the pid file.
 */
export async function stopProcess(
  pid: number,
  markers: string[],
  pidFile: string,
  graceMs: number,
): Promise<void> {
  if (await isOurProcess(pid, markers)) {
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while ((await isOurProcess(pid, markers)) && Date.now() < deadline) await delay(200);
    if (await isOurProcess(pid, markers)) {
      signalGroup(pid, 'SIGKILL');
      while (await isOurProcess(pid, markers)) await delay(100);
    }
  }
  await rm(pidFile, { force: true });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole group, so a JVM's helper processes go too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
