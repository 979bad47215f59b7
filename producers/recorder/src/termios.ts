import { createRequire } from 'node:module';

/**
 * Reads the pty's local mode flags (tcgetattr through koffi's prebuilt FFI, loaded only when input
 * capture is on). Linux x86_64/aarch64 `struct termios`: c_iflag, c_oflag, c_cflag, c_lflag
 * (uint32 each), then c_line and c_cc.
 */

const ECHO = 0o10;
const ICANON = 0o2;

export interface LocalModes {
  readonly echo: boolean;
  readonly canonical: boolean;
}

type TcGetAttr = (fd: number, out: Buffer) => number;
let tcgetattr: TcGetAttr | undefined;

function load(): TcGetAttr {
  if (tcgetattr) return tcgetattr;
  const koffi = createRequire(import.meta.url)('koffi') as {
    load(name: string): { func(signature: string): TcGetAttr };
  };
  tcgetattr = koffi.load('libc.so.6').func('int tcgetattr(int fd, _Out_ uint8_t *termios)');
  return tcgetattr;
}

const buffer = Buffer.alloc(128);

/** The terminal's echo and canonical flags, or undefined if they cannot be read. */
export function readLocalModes(fd: number): LocalModes | undefined {
  if (fd < 0) return undefined;
  if (load()(fd, buffer) !== 0) return undefined;
  const lflag = buffer.readUInt32LE(12);
  return { echo: (lflag & ECHO) !== 0, canonical: (lflag & ICANON) !== 0 };
}

/**
 * Whether typed bytes may be recorded now. A program reading a secret turns echo off and keeps
 * line mode (getpass, sudo, ssh, `read -s`); readline, vim and less turn both off and echo
 * themselves, so their input is recorded. Unknown modes count as secret.
 */
export function inputMayBeRecorded(modes: LocalModes | undefined): boolean {
  if (!modes) return false;
  return modes.echo || !modes.canonical;
}
