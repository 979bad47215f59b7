/**
 * A strict reader of asciicast v2 and v3 files, for tests: what a player needs to open and play a
 * file (https://docs.asciinema.org/manual/asciicast/v2/, .../v3/). Throws an Error naming the line
 * for anything a player could trip on; returns the parsed file otherwise.
 */
export interface CheckedCast {
  readonly header: Record<string, unknown>;
  /** Events with absolute times in seconds (v3 intervals summed). */
  readonly events: Array<[number, string, string]>;
  /** The output stream concatenated, as a player would feed it to its terminal. */
  readonly output: string;
}

export function checkAsciicast(text: string): CheckedCast {
  if (!text.endsWith('\n'))
    throw new Error('the file does not end with a newline (an incomplete last line)');
  const lines = text.slice(0, -1).split('\n');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  const version = header.version;
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (version === 2) {
    if (!positive(header.width) || !positive(header.height))
      throw new Error('v2 header needs positive integer width and height');
  } else if (version === 3) {
    const term = header.term as Record<string, unknown> | undefined;
    if (!term || !positive(term.cols) || !positive(term.rows))
      throw new Error('v3 header needs term.cols and term.rows');
  } else {
    throw new Error(`unknown asciicast version ${String(version)}`);
  }
  if ('timestamp' in header && !Number.isInteger(header.timestamp))
    throw new Error('timestamp must be an integer (Unix seconds)');
  if (
    'env' in header &&
    (typeof header.env !== 'object' ||
      Object.values(header.env as object).some((v) => typeof v !== 'string'))
  ) {
    throw new Error('env must map names to strings');
  }
  const codes = version === 2 ? ['o', 'i', 'm', 'r'] : ['o', 'i', 'm', 'r', 'x'];
  const events: Array<[number, string, string]> = [];
  let time = 0;
  let output = '';
  lines.slice(1).forEach((line, i) => {
    const where = `line ${i + 2}`;
    if (version === 3 && line.startsWith('#')) return; // v3 comment
    const event = JSON.parse(line) as unknown;
    if (!Array.isArray(event) || event.length !== 3)
      throw new Error(`${where}: an event is [time, code, data]`);
    const [t, code, data] = event as [unknown, unknown, unknown];
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
      throw new Error(`${where}: bad time ${String(t)}`);
    if (typeof code !== 'string' || !codes.includes(code))
      throw new Error(`${where}: unknown code ${String(code)}`);
    if (typeof data !== 'string') throw new Error(`${where}: data must be a string`);
    const at = version === 2 ? t : time + t;
    if (version === 2 && t < time) throw new Error(`${where}: time goes back (${t} after ${time})`);
    if (code === 'r' && !/^\d+x\d+$/.test(data))
      throw new Error(`${where}: resize data must be COLSxROWS`);
    if (code === 'x' && !/^-?\d+$/.test(data))
      throw new Error(`${where}: exit data must be a status number`);
    time = at;
    if (code === 'o') output += data;
    events.push([at, code, data]);
  });
  return { header, events, output };
}
