// Runs buf from PATH (npm scripts put node_modules/.bin there).
// Fails when the .proto files break backward compatibility (buf's FILE rules) with the previous
// commit, and with HEAD when the working tree has uncommitted schema changes. FORMAT.md says why.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const schemasDir = dirname(dirname(fileURLToPath(import.meta.url)));
const git = (...args) => spawnSync('git', args, { cwd: schemasDir, encoding: 'utf8' });

const top = git('rev-parse', '--show-toplevel');
if (top.status !== 0) {
  console.log('breaking: not a git checkout, nothing to compare against');
  process.exit(0);
}
const root = top.stdout.trim();
const prefix = git('rev-parse', '--show-prefix').stdout.trim().replace(/\/$/, '');
const protoDir = prefix ? `${prefix}/proto` : 'proto';
const against = ['HEAD~1'];
if (git('status', '--porcelain', '--', 'proto').stdout.trim() !== '') against.unshift('HEAD');

for (const ref of against) {
  if (git('cat-file', '-e', `${ref}:${protoDir}`).status !== 0) {
    console.log(`breaking: ${ref} has no ${protoDir}, nothing to compare against`);
    continue;
  }
  execFileSync(
    'buf',
    ['breaking', 'proto', '--against', `${root}/.git#ref=${ref},subdir=${protoDir}`],
    {
      cwd: schemasDir,
      stdio: 'inherit',
    },
  );
  console.log(`breaking: proto/ is backward compatible with ${ref}`);
}
