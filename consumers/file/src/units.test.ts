import { describe, expect, it } from 'vitest';
import Long from 'long';
import { TextDecoder } from 'node:util';
import { vigil } from '@vigil/schemas/gen';
import { castEventLines, castHeader } from './asciicast.js';
import { checkAsciicast } from './testkit/asciicast-check.js';
import { configSchema } from './config.js';

const start = vigil.session.v1.SessionStart.create({
  user: 'alice',
  tty: '/dev/pts/3',
  term: 'xterm-256color',
  shell: Buffer.from('/bin/bash'),
  cols: 120,
  rows: 40,
});
const meta = { host: 'login01', startUnixNano: 1_790_000_000_500_000_000n };
const ev = (offsetNs: number, body: Partial<vigil.session.v1.ISessionEvent>) =>
  vigil.session.v1.SessionEvent.create({ offsetNs: Long.fromNumber(offsetNs, true), ...body });

describe('asciicast', () => {
  it('writes v2 and v3 headers', () => {
    expect(JSON.parse(castHeader(2, start, meta))).toEqual({
      version: 2,
      width: 120,
      height: 40,
      timestamp: 1790000000,
      title: 'alice@login01 /dev/pts/3',
      env: { SHELL: '/bin/bash', TERM: 'xterm-256color' },
    });
    expect(JSON.parse(castHeader(3, start, meta))).toEqual({
      version: 3,
      term: { cols: 120, rows: 40, type: 'xterm-256color' },
      timestamp: 1790000000,
      title: 'alice@login01 /dev/pts/3',
      env: { SHELL: '/bin/bash' },
    });
    expect(JSON.parse(castHeader(2, undefined, meta))).toMatchObject({ width: 80, height: 24 });
  });

  it.each([2, 3] as const)(
    'turns session events into v%i events, times never going back',
    (version) => {
      const decoder = new TextDecoder();
      const decode = (b: Uint8Array) => decoder.decode(b, { stream: true });
      const euro = Buffer.from('€');
      const events = [
        ev(1_500_000, { output: { data: Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]) } }),
        ev(2_000_000_000, {
          output: { data: Buffer.concat([euro.subarray(2), Buffer.from('b')]) },
        }),
        ev(1_000_000_000, { resize: { cols: 100, rows: 30 } }), // earlier than the last: kept at the last time
        ev(3_000_000_000, { command: { text: Buffer.from('make'), exitStatus: 2 } }),
        ev(3_500_000_000, { input: { data: Buffer.from('q') } }),
        ev(4_000_000_000, { end: { exitStatus: 0 } }),
      ];
      let last = 0n;
      const lines: string[] = [];
      for (const e of events) {
        const r = castEventLines(version, e, last, decode);
        lines.push(...r.lines);
        last = r.lastOffsetNs;
      }
      const cast = checkAsciicast(castHeader(version, start, meta) + lines.join(''));
      expect(cast.output).toBe('a€b');
      expect(cast.events.map((e) => e[1])).toEqual(
        version === 2 ? ['o', 'o', 'r', 'm', 'i'] : ['o', 'o', 'r', 'm', 'i', 'x'],
      );
      expect(cast.events.map((e) => Math.round(e[0] * 1000) / 1000)).toEqual(
        version === 2 ? [0.002, 2, 2, 3, 3.5] : [0.002, 2, 2, 3, 3.5, 4],
      );
      expect(cast.events[3]![2]).toBe('$ make [exit 2]');
    },
  );

  it('the checker refuses what players trip on', () => {
    const header = '{"version":2,"width":80,"height":24}\n';
    expect(() => checkAsciicast(`${header}[1,"o","a"]\n[0.5,"o","b"]\n`)).toThrow(/time goes back/);
    expect(() => checkAsciicast(`${header}[1,"o","a"]`)).toThrow(/newline/);
    expect(() => checkAsciicast(`${header}[1,"x","0"]\n`)).toThrow(/unknown code/);
    expect(() => checkAsciicast(`${header}[1,"r","wide"]\n`)).toThrow(/COLSxROWS/);
    expect(() => checkAsciicast('{"version":2,"width":0,"height":24}\n')).toThrow(/width/);
  });
});

describe('configSchema', () => {
  it('defaults to asciicast v2, no compression', () => {
    const c = configSchema.parse({});
    expect(c.asciicast.version).toBe(2);
    expect(c.jsonl.compression).toBe('none');
    expect(() => configSchema.parse({ asciicast: { version: 1 } })).toThrow();
  });
});
