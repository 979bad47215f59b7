import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { stackConfigTable } from './config.js';

describe('README', () => {
  it('documents every setting as the schema defines it', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // On failure: paste the output of stackConfigTable() into the README's Configuration section.
    // Prettier pads the table's columns, so compare with runs of spaces and dashes collapsed.
    const normalize = (text: string): string => text.replace(/ +/g, ' ').replace(/-{3,}/g, '---');
    expect(normalize(readme)).toContain(normalize(stackConfigTable()));
  });
});
