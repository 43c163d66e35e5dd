// The command as installed, dist/booth-agent.js, runs the bundle the build made from V8's
// code cache of it (scripts/bundle.mjs): used when it fits, and when it does not (another
// Node, a damaged file) or is missing, the bundle compiles as usual and the command is the same.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const root = new URL('../../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };

/** `booth-agent --version`, with vm.Script watched: what V8 made of the code cache, if one was given. */
function commandVersion(cli: string, dir: string): { stdout: string; cache: string | null } {
  const spy = join(dir, 'spy.cjs');
  writeFileSync(
    spy,
    `const vm = require('node:vm');
     const Original = vm.Script;
     vm.Script = class extends Original {
       constructor(code, options) {
         super(code, options);
         if (options && options.cachedData) process.once('exit', () => process.stderr.write(this.cachedDataRejected ? 'rejected' : 'used'));
       }
     };`,
  );
  const run = spawnSync(process.execPath, ['--require', spy, cli, '--version'], { encoding: 'utf8', timeout: 20_000 });
  expect(run.status, run.stderr).toBe(0);
  return { stdout: run.stdout, cache: run.stderr || null };
}

describe('the code cache of the bundled command', () => {
  it('is used as the build made it', () => {
    expect(commandVersion(CLI, tempDir())).toEqual({ stdout: `${version}\n`, cache: 'used' });
  });

  it('is rejected when damaged, and the command runs all the same; without one it runs too', () => {
    // A copy of the installed command, with node_modules for better-sqlite3.
    const install = tempDir('installed-');
    const dist = join(install, 'dist');
    mkdirSync(dist);
    for (const name of ['booth-agent.js', 'booth-agent.bundle.cjs']) copyFileSync(new URL(`dist/${name}`, root), join(dist, name));
    copyFileSync(new URL('package.json', root), join(install, 'package.json'));
    symlinkSync(fileURLToPath(new URL('node_modules', root)), join(install, 'node_modules'), 'junction');
    const cli = join(dist, 'booth-agent.js');

    expect(commandVersion(cli, install)).toEqual({ stdout: `${version}\n`, cache: null });
    const own = readFileSync(new URL('dist/booth-agent.bundle.cjs.cache', root));
    writeFileSync(join(dist, 'booth-agent.bundle.cjs.cache'), own.subarray(0, own.length / 2));
    expect(commandVersion(cli, install)).toEqual({ stdout: `${version}\n`, cache: 'rejected' });
    writeFileSync(join(dist, 'booth-agent.bundle.cjs.cache'), 'not a code cache');
    expect(commandVersion(cli, install)).toEqual({ stdout: `${version}\n`, cache: 'rejected' });
  });
});
