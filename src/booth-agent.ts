#!/usr/bin/env node
// The `booth-agent` command as installed. The build bundles the command (src/cli.ts and all
// it imports) into booth-agent.bundle.cjs beside this file, runs it once, and keeps V8's
// code cache of what that run compiled (scripts/bundle.mjs). Compiled from that cache, the
// bundle starts without parsing and compiling its 1.3 MB again: a quarter of the CPU
// `booth-agent run` spent before it could take its first capture. A cache that does not
// fit (another Node version, other V8 flags) is rejected by V8, and the bundle compiles as
// it would without one.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('booth-agent.bundle.cjs', import.meta.url));
const cacheFile = `${bundle}.cache`;
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build that did not make one): compile as usual.
}
// The bundle is CommonJS, run as Node runs a module: in a function given its own module and
// require, and in require's cache, so that its chunks, which require it for what they share,
// get this instance of it rather than a second one.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  cachedData,
});
if (process.env.BOOTH_AGENT_WRITE_CODE_CACHE === '1') {
  // The build's run: what it compiled, kept once the command has done its work.
  process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}
const bundleRequire = createRequire(bundle);
const bundleModule = new Module(bundle);
bundleModule.filename = bundle;
bundleRequire.cache[bundle] = bundleModule;
(script.runInThisContext() as (...args: unknown[]) => void)(bundleModule.exports, bundleRequire, bundleModule, bundle, dirname(bundle));
bundleModule.loaded = true;
