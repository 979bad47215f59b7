// Bundles `vigil-rec` into CommonJS files (measured in the README): Node then skips the ESM loader
// and the resolution of a few hundred module files.
//   dist/vigil-rec.cjs       what runs before the program starts (src/main.ts and what it imports)
//   dist/vigil-rec-late.cjs  src/late.ts: config validation and the gateway output, loaded after
//                            the first prompt (zod, yaml, the protobuf code)
//   dist/vigil-rec-yaml.cjs  yaml, loaded before the start only when there is a config file
// The dynamic imports of src/ stay lazy: in the bundle they become a require() of those files, run
// when the import() is. tsc's dist/*.js (the CLI's `vigil rec`) are unchanged.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const dist = resolve(src, '../dist');
/** import() of these → require() of the bundled file at run time. */
const LAZY = { yaml: './vigil-rec-yaml.cjs', './late.js': './vigil-rec-late.cjs' };

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // The sources locate shell/ and node-pty from import.meta.url: the bundle's own URL (it sits in
  // dist/ like the files it replaces).
  define: { 'import.meta.url': '__vigilRecUrl' },
  banner: { js: "const __vigilRecUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({
  ...common,
  entryPoints: [resolve(src, 'main.ts')],
  outfile: resolve(dist, 'vigil-rec.cjs'),
  plugins: [
    {
      name: 'lazy-files',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'require-call' && Object.values(LAZY).includes(args.path))
            return { path: args.path, external: true };
          if (args.kind !== 'dynamic-import') return undefined;
          const file = LAZY[args.path];
          if (file) return { path: file, namespace: 'lazy' };
          // Anything else (./rec.js, the path taken when the config must be validated first): tsc's
          // file beside the bundle.
          return { path: args.path, external: true };
        });
        b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
          contents: `module.exports = require(${JSON.stringify(args.path)});`,
          loader: 'js',
        }));
      },
    },
  ],
});
await build({
  ...common,
  entryPoints: [resolve(src, 'late.ts')],
  outfile: resolve(dist, 'vigil-rec-late.cjs'),
});
await build({
  ...common,
  stdin: { contents: "export { parse } from 'yaml';", resolveDir: src },
  outfile: resolve(dist, 'vigil-rec-yaml.cjs'),
});
