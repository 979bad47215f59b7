import { readFileSync } from 'node:fs';
import { castOutput, limitIdle, parseCast, type Cast, type CastEvent } from './asciicast.js';

export { parseCast, castOutput, CastError } from './asciicast.js';
export {
  resolveRecording,
  sessionsDirOf,
  sessionIdOf,
  RecordingNotFoundError,
} from './recordings.js';

/**
 * `vigil play`: plays an asciicast file with controls, and `vigil cat`: prints its output.
 *
 *   space        pause / resume             .        one step (while paused)
 *   → / ←        5 s forward / back         ] / [    next / previous marker
 *   n / p        next / previous command    + / -    faster / slower
 *   q, Ctrl-C    quit
 *
 * Seeking back redraws from the start (terminal reset, then every output up to that point at
 * once), the only exact way to rebuild a screen from a byte stream.
 */

export interface PlayerOptions {
  readonly cast: Cast;
  readonly write: (text: string) => void;
  readonly speed?: number;
  /** Longest pause kept, in seconds. */
  readonly idleTimeLimit?: number;
  /** Seconds, monotonic. */
  readonly now?: () => number;
}

export interface Player {
  /** Starts playing; resolves at the end or on quit. */
  readonly done: Promise<void>;
  /** One keypress (the raw bytes as text). */
  key(key: string): void;
  /** Current position in seconds and state, for tests and the status line. */
  state(): { position: number; playing: boolean; speed: number; ended: boolean };
}

export const SEEK_SECONDS = 5;
const RESET = '\x1bc';

const isCommand = (e: CastEvent): boolean => e.code === 'm' && e.data.startsWith('$ ');

/** Creates a player and starts it. */
export function createPlayer(options: PlayerOptions): Player {
  const events = limitIdle(options.cast.events, options.idleTimeLimit);
  const end = events.length > 0 ? events[events.length - 1]!.time : 0;
  const now = options.now ?? (() => performance.now() / 1000);
  let speed = options.speed ?? 1;
  let next = 0; // index of the next event to apply
  let position = 0; // seconds, when paused or at `base`
  let base = now();
  let playing = true;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const current = (): number =>
    playing ? Math.min(end, position + (now() - base) * speed) : position;
  const apply = (e: CastEvent): void => {
    if (e.code === 'o') options.write(e.data);
  };
  const applyUntil = (time: number): void => {
    while (next < events.length && events[next]!.time <= time) apply(events[next++]!);
  };
  const finish = (): void => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    resolveDone();
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!playing || ended) return;
    if (next >= events.length) return finish();
    const wait = Math.max(0, (events[next]!.time - current()) / speed);
    timer = setTimeout(() => {
      applyUntil(current() + 1e-9);
      schedule();
    }, wait * 1000);
  };
  const seek = (target: number): void => {
    const from = current();
    const to = Math.max(0, Math.min(end, target));
    if (to < from) {
      options.write(RESET);
      next = 0;
    }
    applyUntil(to);
    position = to;
    base = now();
    schedule();
  };
  const jump = (match: (e: CastEvent) => boolean, forward: boolean): void => {
    const at = current();
    const list = events.filter(match);
    // Backwards skips the mark just passed (within a second), so pressing twice goes further.
    const found = forward
      ? list.find((e) => e.time > at + 1e-6)
      : list.filter((e) => e.time < at - 1).pop();
    if (found) seek(found.time);
    else if (!forward) seek(0);
  };

  const player: Player = {
    done,
    key(key) {
      if (ended) return;
      switch (key) {
        case ' ':
          if (playing) {
            position = current();
            playing = false;
            schedule();
          } else {
            playing = true;
            base = now();
            schedule();
          }
          break;
        case '.':
          if (!playing && next < events.length) {
            // Step: up to and including the next output.
            let i = next;
            while (i < events.length && events[i]!.code !== 'o') i++;
            const target = events[Math.min(i, events.length - 1)]!.time;
            applyUntil(target);
            position = target;
          }
          break;
        case '\x1b[C':
          seek(current() + SEEK_SECONDS);
          break;
        case '\x1b[D':
          seek(current() - SEEK_SECONDS);
          break;
        case ']':
          jump((e) => e.code === 'm', true);
          break;
        case '[':
          jump((e) => e.code === 'm', false);
          break;
        case 'n':
          jump(isCommand, true);
          break;
        case 'p':
          jump(isCommand, false);
          break;
        case '+':
        case '=':
          position = current();
          base = now();
          speed = Math.min(speed * 2, 64);
          schedule();
          break;
        case '-':
          position = current();
          base = now();
          speed = Math.max(speed / 2, 1 / 64);
          schedule();
          break;
        case 'q':
        case '\x03':
          finish();
          break;
      }
    },
    state() {
      return { position: current(), playing, speed, ended };
    },
  };
  schedule();
  return player;
}

/** Plays a file on this terminal with keyboard controls; resolves at the end or on quit. */
export async function playFile(
  path: string,
  options: { speed?: number; idleTimeLimit?: number } = {},
): Promise<void> {
  const cast = parseCast(readFileSync(path, 'utf8'));
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  const player = createPlayer({
    cast,
    write: (text) => process.stdout.write(text),
    ...(options.speed ? { speed: options.speed } : {}),
    ...(options.idleTimeLimit ? { idleTimeLimit: options.idleTimeLimit } : {}),
  });
  const onKey = (data: Buffer): void => player.key(data.toString('latin1'));
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
  }
  try {
    await player.done;
  } finally {
    if (raw) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
}

/** Writes a file's output to stdout at once. */
export function catFile(
  path: string,
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  write(castOutput(parseCast(readFileSync(path, 'utf8'))));
}
