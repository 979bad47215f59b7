// Generates gen/vigil.js (static protobufjs code, ES modules) and gen/vigil.d.ts from proto/.
// Run at build time; gen/ is not committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const protoRoot = join(here, 'proto');
const outDir = join(here, 'gen');
const require = createRequire(import.meta.url);
const cliDir = dirname(require.resolve('protobufjs-cli/package.json'));

function protoFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return protoFiles(path);
    return name.endsWith('.proto') ? [relative(protoRoot, path)] : [];
  });
}

const files = protoFiles(protoRoot).sort();
mkdirSync(outDir, { recursive: true });
const js = join(outDir, 'vigil.js');
const run = (bin, args) =>
  execFileSync(process.execPath, [join(cliDir, 'bin', bin), ...args], {
    cwd: protoRoot,
    stdio: 'inherit',
  });

// Node's ESM resolver needs the file extension: import protobufjs/minimal.js, not protobufjs/minimal.
run('pbjs', [
  '-t',
  'static-module',
  '-w',
  'es6',
  '--dependency',
  'protobufjs/minimal.js',
  '--force-long',
  '-p',
  protoRoot,
  '-o',
  js,
  ...files.map((f) => join(protoRoot, f)),
]);
// protobufjs is CommonJS: Node's ESM loader exposes module.exports only as the default export.
writeFileSync(
  js,
  readFileSync(js, 'utf8').replace(
    'import * as $protobuf from "protobufjs/minimal.js";',
    'import $protobuf from "protobufjs/minimal.js";',
  ),
);
const dts = join(outDir, 'vigil.d.ts');
run('pbts', ['-o', dts, js]);
// pbts writes a CommonJS-style import of long; this package is ESM.
writeFileSync(
  dts,
  readFileSync(dts, 'utf8').replace(
    'import Long = require("long");',
    'import type Long from "long";',
  ),
);

// The proto sources travel with the generated code: the registry needs their text.
const sources = Object.fromEntries(files.map((f) => [f, readFileSync(join(protoRoot, f), 'utf8')]));
writeFileSync(join(outDir, 'sources.json'), JSON.stringify(sources, null, 1) + '\n');
console.log(`generated ${relative(here, js)} from ${files.length} files`);
