// Builds better-sqlite3 for the Electron version in package.json into
// native/electron/better_sqlite3.node, leaving node_modules/better-sqlite3 (the Node build
// that `npm test` and `booth-agent` use) untouched. The desktop app opens SQLite with
// better-sqlite3's `nativeBinding` option pointing at this file; electron-builder ships it
// as an extra resource. Needs the internet once per Electron version (a prebuilt binary,
// or Electron's headers to compile one).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const electron = require('electron/package.json').version;
const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
const sqlite = require('better-sqlite3/package.json').version;
const out = join('native', 'electron');
const stamp = join(out, 'built-for.json');
const wanted = { electron, betterSqlite3: sqlite, platform: process.platform, arch: process.arch };

if (existsSync(stamp) && JSON.stringify(JSON.parse(readFileSync(stamp, 'utf8'))) === JSON.stringify(wanted)) {
  console.log(`better-sqlite3 ${sqlite} for Electron ${electron} is already built`);
  process.exit(0);
}

const work = join('native', '.build', 'better-sqlite3');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const part of ['package.json', 'binding.gyp', 'src', 'deps', 'lib'])
  cpSync(join(sqliteDir, part), join(work, part), { recursive: true });

// A machine whose npm is set to build against Node's own headers (nodedir) would quietly
// produce a Node binary: build against Electron's, always.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.toLowerCase() !== 'npm_config_nodedir'));
const run = (command, args) =>
  execFileSync(command, args, { cwd: work, stdio: 'inherit', env: { ...env, npm_config_runtime: 'electron', npm_config_nodedir: '' } });
try {
  run(process.execPath, [
    require.resolve('prebuild-install/bin.js'),
    '--runtime',
    'electron',
    '--target',
    electron,
    '--arch',
    process.arch,
    '--platform',
    process.platform,
  ]);
} catch {
  console.log("no prebuilt binary: compiling against Electron's headers");
  run(process.platform === 'win32' ? 'npx.cmd' : 'npx', [
    '--yes',
    'node-gyp',
    'rebuild',
    '--release',
    '--runtime=electron',
    `--target=${electron}`,
    `--arch=${process.arch}`,
    '--dist-url=https://electronjs.org/headers',
  ]);
}

mkdirSync(out, { recursive: true });
cpSync(join(work, 'build', 'Release', 'better_sqlite3.node'), join(out, 'better_sqlite3.node'));
writeFileSync(stamp, `${JSON.stringify(wanted)}\n`);
rmSync(join('native', '.build'), { recursive: true, force: true });
console.log(`built better-sqlite3 ${sqlite} for Electron ${electron} into ${out}`);
