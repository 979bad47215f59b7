import { describe, expect, it } from 'vitest';
import { createMarkScanner, parseMark, percentDecode, type Mark } from './marks.js';

function scanAll(chunks: Buffer[]): { shown: Buffer; marks: Mark[]; order: string[] } {
  const shown: Buffer[] = [];
  const marks: Mark[] = [];
  const order: string[] = [];
  const scanner = createMarkScanner({
    data: (b) => {
      shown.push(Buffer.from(b));
      order.push(`d:${b.toString('latin1')}`);
    },
    mark: (m) => {
      marks.push(m);
      order.push(`m:${m.kind}`);
    },
  });
  for (const c of chunks) scanner.push(c);
  scanner.flush();
  return { shown: Buffer.concat(shown), marks, order };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('mark scanner', () => {
  const stream = b(
    'before\x1b]133;C;/home/u%3Bx;ls -l %25 \xff\x07middle\x1b]133;D;2\x1b\\after\x1b]133;A\x07\x1b]0;title\x07end',
  );

  it('cuts out its own marks, keeps every other byte, in order', () => {
    const { shown, marks, order } = scanAll([stream]);
    expect(shown).toEqual(b('beforemiddleafter\x1b]133;A\x07\x1b]0;title\x07end'));
    expect(marks).toEqual([
      { kind: 'command-start', cwd: b('/home/u;x'), text: b('ls -l % \xff') },
      { kind: 'command-end', exitStatus: 2 },
    ]);
    expect(order.filter((o) => o.startsWith('m:'))).toEqual(['m:command-start', 'm:command-end']);
  });

  it('gives the same result whatever the read boundaries', () => {
    const whole = scanAll([stream]);
    for (let i = 1; i < stream.length; i++) {
      for (const j of [i + 1, i + 3, i + 17]) {
        if (j >= stream.length) continue;
        const split = scanAll([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        expect(split.shown).toEqual(whole.shown);
        expect(split.marks).toEqual(whole.marks);
      }
    }
  });

  it('holds a possible mark start at the end of a read, and flushes it as data', () => {
    const shown: string[] = [];
    const scanner = createMarkScanner({
      data: (x) => shown.push(x.toString('latin1')),
      mark: () => undefined,
    });
    scanner.push(b('abc\x1b]13'));
    expect(shown).toEqual(['abc']);
    expect(scanner.holding).toBe(true);
    scanner.flush();
    expect(shown.join('')).toBe('abc\x1b]13');
    expect(scanner.holding).toBe(false);
  });

  it('passes a lone ESC (vim, arrow keys) through at once when it is not followed by ]', () => {
    const shown: string[] = [];
    const scanner = createMarkScanner({
      data: (x) => shown.push(x.toString('latin1')),
      mark: () => undefined,
    });
    scanner.push(b('\x1b[A\x1bx'));
    expect(shown.join('')).toBe('\x1b[A\x1bx');
    expect(scanner.holding).toBe(false);
  });

  it('shows an unterminated sequence once it is too long to be a mark', () => {
    const long = Buffer.concat([b('\x1b]133;C;'), Buffer.alloc(70 * 1024, 0x61)]);
    const { shown, marks } = scanAll([long.subarray(0, 1000), long.subarray(1000)]);
    expect(marks).toEqual([]);
    expect(shown.equals(long)).toBe(true);
  });

  it.each([
    ['C;/;x', { kind: 'command-start', cwd: b('/'), text: b('x') }],
    ['C;/;a;b', { kind: 'command-start', cwd: b('/'), text: b('a;b') }],
    ['D;0', { kind: 'command-end', exitStatus: 0 }],
    ['D;130', { kind: 'command-end', exitStatus: 130 }],
    ['M;start of job', { kind: 'marker', label: 'start of job' }],
    ['D;x', undefined],
    ['D', { kind: 'command-end', exitStatus: 0 }],
    ['D;', { kind: 'command-end', exitStatus: 0 }],
    ['D;-1', { kind: 'command-end', exitStatus: -1 }],
    ['D;1.0', undefined],
    ['D; 1', undefined],
    ['D;1234567890', undefined],
    ['D;0;x', undefined],
    ['X;abc;0', { kind: 'exit', nonce: 'abc', exitStatus: 0 }],
    ['X;abc', undefined],
    ['X;;0', undefined],
    ['C;nocommand', undefined],
    ['A', undefined],
    ['B;x', undefined],
  ])('parses %j', (body, expected) => {
    expect(parseMark(b(body))).toEqual(expected);
  });

  it('percent-decodes exactly, keeping invalid escapes', () => {
    expect(percentDecode(b('%07%1b%3B%25%zz%4'))).toEqual(b('\x07\x1b;%%zz%4'));
  });
});
