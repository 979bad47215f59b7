import { describe, expect, it } from 'vitest';
import { castOutput, CastError, limitIdle, parseCast } from './asciicast.js';
import { createPlayer } from './play.js';

const v2 = [
  '{"version":2,"width":80,"height":24,"timestamp":1}',
  '[0.5,"o","a"]',
  '[1.0,"m","$ ls"]',
  '[1.5,"o","b"]',
  '[20.0,"o","c"]',
  '[21.0,"m","chapter"]',
  '[22.0,"m","$ make"]',
  '[23.0,"o","d"]',
].join('\n');

const v3 = [
  '{"version":3,"term":{"cols":80,"rows":24}}',
  '# a comment',
  '[0.5,"o","a"]',
  '[1.0,"o","b"]',
  '[0.25,"x","0"]',
].join('\n');

describe('asciicast reading', () => {
  it('reads v2 (absolute times) and v3 (intervals) into one timeline', () => {
    expect(parseCast(v2).events.map((e) => e.time)).toEqual([0.5, 1, 1.5, 20, 21, 22, 23]);
    expect(parseCast(v3).events.map((e) => [e.time, e.code])).toEqual([
      [0.5, 'o'],
      [1.5, 'o'],
      [1.75, 'x'],
    ]);
    expect(castOutput(parseCast(v2))).toBe('abcd');
  });

  it('names the bad line', () => {
    expect(() => parseCast('{"version":2,"width":1,"height":1}\n[1,"o"]')).toThrow(/line 2/);
    expect(() => parseCast('{"version":9}')).toThrow(CastError);
    expect(() => parseCast('')).toThrow(/empty/);
  });

  it('caps idle time', () => {
    expect(limitIdle(parseCast(v2).events, 2).map((e) => e.time)).toEqual([
      0.5, 1, 1.5, 3.5, 4.5, 5.5, 6.5,
    ]);
  });
});

describe('player', () => {
  function setup() {
    let t = 0;
    let written = '';
    const player = createPlayer({
      cast: parseCast(v2),
      write: (s) => (written += s),
      now: () => t,
    });
    return { player, advance: (s: number) => (t += s), written: () => written };
  }

  it('pauses, steps, seeks by 5 s both ways, and jumps between markers and commands', () => {
    const { player, advance, written } = setup();
    player.key(' '); // pause at 0
    expect(player.state().playing).toBe(false);
    player.key('.'); // step: the first output
    expect(written()).toBe('a');
    player.key('\x1b[C'); // +5 s → 5.5
    expect(written()).toBe('ab');
    expect(player.state().position).toBeCloseTo(5.5);
    player.key('\x1b[D'); // back to 0.5: reset, then redraw
    expect(written()).toBe('ab\x1bca');
    player.key('n'); // next command: "$ ls" at 1
    expect(player.state().position).toBe(1);
    player.key('n'); // and the one after: "$ make" at 22
    expect(player.state().position).toBe(22);
    expect(written().endsWith('c')).toBe(true);
    player.key('['); // previous marker before 21 (one second back): "$ ls" at 1.0
    expect(player.state().position).toBe(1);
    player.key(']'); // next marker: "chapter"
    expect(player.state().position).toBe(21);
    player.key('p'); // previous command: "$ ls"
    expect(player.state().position).toBe(1);
    player.key('+');
    expect(player.state().speed).toBe(2);
    player.key(' '); // resume at double speed
    advance(1);
    expect(player.state().position).toBeCloseTo(3);
    player.key('q');
    expect(player.state().ended).toBe(true);
  });

  it('plays to the end in real time and resolves', async () => {
    let written = '';
    const player = createPlayer({
      cast: parseCast(v2),
      write: (s) => (written += s),
      speed: 64,
      idleTimeLimit: 0.5,
    });
    await player.done;
    expect(written).toBe('abcd');
  });
});
