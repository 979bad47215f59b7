import { spawn } from 'node:child_process';
import { signalNumber } from './sign-tool.js';

/** Intel compiler options that begin with -o but name no output (-openmp, -opt-report, -offload). */
const INTEL_O_OPTIONS = /^-o(penmp|pt-|ffload)/;

/**
 * The output file of a compiler-driver or linker command line: the last `-o FILE`, `-oFILE`,
 * `--output FILE` or `--output=FILE` (gcc, clang and ld all let the last one win), else `a.out`,
 * the default of every one of them. Arguments after a lone `--` are not options. Pure.
 */
export function linkerOutput(args: readonly string[]): string {
  let output = 'a.out';
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if ((arg === '-o' || arg === '--output') && args[i + 1] !== undefined) output = args[++i]!;
    else if (arg.startsWith('--output=')) output = arg.slice('--output='.length);
    else if (arg.startsWith('-o') && arg.length > 2 && !INTEL_O_OPTIONS.test(arg))
      output = arg.slice(2);
  }
  return output;
}

/**
 * Runs a linker command with the watermark object appended, with our stdio. Resolves with its exit
 * status (128 + signal number when killed); rejects when it cannot be started.
 */
export function runLinker(command: readonly string[], object: string): Promise<number> {
  const [program, ...args] = command;
  if (!program) return Promise.reject(new Error('linking: no linker command given after --'));
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args, object], { stdio: 'inherit' });
    child.once('error', (error) =>
      reject(new Error(`linking: running ${program}: ${error.message}`, { cause: error })),
    );
    child.once('close', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
}
