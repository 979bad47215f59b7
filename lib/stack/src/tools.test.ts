import { describe, expect, it } from 'vitest';

import { StackError } from './errors.js';
import { findJava, parseJavaMajor } from './tools.js';

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "11.0.2-ea" 2019-01-15', 11],
    ['no version here', undefined],
  ])('%s → %s', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });
});

describe('findJava', () => {
  it('says what to install when java is missing, in one line', async () => {
    const error = await findJava('/nonexistent/jdk').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as Error).message).toBe(
      'Java 17 or newer is required but /nonexistent/jdk/bin/java was not found; install it: apt-get install openjdk-17-jre-headless maven',
    );
  });
});
