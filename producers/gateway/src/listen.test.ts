import { describe, expect, it } from 'vitest';
import { createFrameSplitter, parseListen, type StreamProblem } from './listen.js';

describe('parseListen', () => {
  it.each([
    ['udp:0.0.0.0:7971', { protocol: 'udp', address: '0.0.0.0', port: 7971 }],
    ['udp:[::]:7971', { protocol: 'udp', address: '::', port: 7971 }],
    ['tcp:[::1]:0', { protocol: 'tcp', address: '::1', port: 0 }],
    ['tcp:localhost:7972', { protocol: 'tcp', address: 'localhost', port: 7972 }],
    ['unix:/run/vigil/gateway.sock', { protocol: 'unix', address: '/run/vigil/gateway.sock' }],
    [
      'unixgram:/run/vigil/gateway.dgram',
      { protocol: 'unixgram', address: '/run/vigil/gateway.dgram' },
    ],
  ])('parses %s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each([
    'udp',
    'http:1.2.3.4:80',
    'udp:1.2.3.4',
    'udp:::1:7971',
    'udp:1.2.3.4:70000',
    'unix:relative.sock',
    'tcp:[::1]:x',
  ])('refuses %s with a message', (text) => {
    expect(typeof parseListen(text)).toBe('string');
  });
});

function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

function splitter(max = 100) {
  const messages: string[] = [];
  const problems: StreamProblem[] = [];
  const s = createFrameSplitter(
    max,
    (m) => messages.push(m.toString()),
    (p) => problems.push(p),
  );
  return { s, messages, problems };
}

describe('createFrameSplitter', () => {
  it('splits frames arriving in any chunking, byte by byte included', () => {
    const stream = Buffer.concat(['one', 'two', 'three'].map((t) => frame(Buffer.from(t))));
    for (const size of [1, 2, 3, 5, 7, stream.length]) {
      const { s, messages } = splitter();
      for (let o = 0; o < stream.length; o += size) s.push(stream.subarray(o, o + size));
      expect(messages).toEqual(['one', 'two', 'three']);
      expect(s.pendingBytes).toBe(0);
    }
  });

  it('skips an oversized frame and stays in step with the next one', () => {
    const { s, messages, problems } = splitter(10);
    const big = frame(Buffer.alloc(50, 0x41));
    const stream = Buffer.concat([frame(Buffer.from('a')), big, frame(Buffer.from('b'))]);
    s.push(stream.subarray(0, 20));
    s.push(stream.subarray(20, 40));
    s.push(stream.subarray(40));
    expect(messages).toEqual(['a', 'b']);
    expect(problems.map((p) => p.reason)).toEqual(['too_large']);
  });

  it('counts a zero-length frame and goes on', () => {
    const { s, messages, problems } = splitter();
    s.push(Buffer.concat([Buffer.alloc(4), frame(Buffer.from('x'))]));
    expect(messages).toEqual(['x']);
    expect(problems.map((p) => p.reason)).toEqual(['too_short']);
  });

  it('holds half a frame until the rest comes', () => {
    const { s, messages } = splitter();
    const f = frame(Buffer.from('hello'));
    s.push(f.subarray(0, 6));
    expect(messages).toEqual([]);
    expect(s.pendingBytes).toBe(6);
    s.push(f.subarray(6));
    expect(messages).toEqual(['hello']);
  });
});
