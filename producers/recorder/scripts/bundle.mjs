// Bundles what `vigil-rec` needs before the program starts into one CommonJS file,
// dist/vigil-rec.cjs (measured in the README: Node then skips the ESM loader and a dozen module
// resolutions, about half of the recorder's own start-up). Dynamic imports stay separate files
// (dist/config.js, dist/outputs/gateway.js, yaml, ...), loaded after the first prompt as before.
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

await build({
  entryPoints: [resolve(src, 'main.ts')],
  outfile: resolve(src, '../dist/vigil-rec.cjs'),
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
  plugins: [
    {
      name: 'keep-dynamic-imports-lazy',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind !== 'dynamic-import') return undefined;
          if (!args.path.startsWith('.')) return { path: args.path, external: true };
          // Relative to the bundle (dist/), where tsc put the same file.
          const path = relative(src, resolve(args.resolveDir, args.path));
          return { path: `./${path}`, external: true };
        });
      },
    },
  ],
});
