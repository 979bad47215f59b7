import { describe, expect, it } from 'vitest';
import { linkerOutput } from './link.js';

describe('linkerOutput', () => {
  it.each([
    [['gcc', '-o', 'prog', 'prog.c'], 'prog'],
    [['gcc', '-oprog', 'prog.c'], 'prog'],
    [['ld', '--output', 'lib.so', 'a.o'], 'lib.so'],
    [['ld', '--output=lib.so', 'a.o'], 'lib.so'],
    [['gcc', '-o', 'first', '-o', 'last', 'x.c'], 'last'],
    [['gcc', 'prog.c'], 'a.out'],
    [['icc', '-openmp', '-opt-report', '-o', 'p', 'p.c'], 'p'],
    [['gcc', '-O2', '-o', 'p', '--', '-o', 'x'], 'p'],
    [['gcc', '-o'], 'a.out'],
  ])('%j → %s', (args, output) => {
    expect(linkerOutput(args)).toBe(output);
  });
});
