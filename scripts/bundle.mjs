// Bundles the `booth-agent` command into dist/booth-agent.bundle.cjs, after tsc has compiled
// src/ to dist/, and makes V8's code cache of it, which dist/booth-agent.js (the command as
// installed, src/booth-agent.ts) runs it with. Unbundled, `booth-agent run` loaded about 300
// files one by one (our 70 modules, zod's 95, fastify's and the rest): resolving, reading
// and compiling each took most of its start-up. Node's own modules and the native addons
// (better-sqlite3; sharp, which finds its platform's binary beside itself) are left out. What
// is imported only when needed (LAZY below) stays apart, in dist/booth-agent.bundle-*.cjs beside it:
// those chunks sit in the same folder as the bundle, at the depth src/package-root.ts
// expects. CommonJS, because V8's code cache is offered for scripts, not for ES modules.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const OUT = 'dist';
const BUNDLE = join(OUT, 'booth-agent.bundle.cjs');
/**
 * Fastify requires these only to compile route schemas (we validate with zod and give it
 * compilers that refuse, src/server/server.ts) and for inject(), which the command never
 * calls. Left out, they would still load from node_modules if ever asked for; bundled, they
 * were a third of the file, compiled at every start.
 */
const NEVER_LOADED = ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'];
/**
 * The packages loaded only when first needed (the sender, the hot folder, the receiver's
 * certificates, the storage, a session's QR code, the guest's page template): none may end up
 * in the bundle every start compiles, which a static import anywhere would do.
 */
const LAZY = ['undici', 'chokidar', 'selfsigned', '@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner', 'qrcode', 'handlebars'];

for (const name of readdirSync(OUT)) if (name.startsWith('booth-agent.bundle')) rmSync(join(OUT, name));

const { output } = await build({
  input: { 'booth-agent.bundle': join(OUT, 'cli.js') },
  platform: 'node',
  external: ['better-sqlite3', 'sharp', ...NEVER_LOADED],
  logLevel: 'warn',
  onLog(level, log, handler) {
    // What is imported only when needed, but also imported up front somewhere, would load at
    // every start: fail the build rather than let start-up grow unnoticed.
    if (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT') throw new Error(`${log.message}: import it lazily everywhere`);
    handler(level, log);
  },
  output: { dir: OUT, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'booth-agent.bundle-[name].cjs' },
});
const entry = output.find((chunk) => chunk.type === 'chunk' && chunk.isEntry);
// sharp is left out of the bundle (a native addon), so the entry must not even import it.
const eager = [
  ...LAZY.filter((name) => entry.moduleIds.some((id) => id.includes(`/node_modules/${name}/`))),
  ...(entry.imports.includes('sharp') ? ['sharp'] : []),
];
if (eager.length > 0) throw new Error(`${eager.join(', ')}: imported up front, so loaded at every start: import it lazily everywhere`);
// src/cli.ts's #! line: the bundle is run inside a function, where it is not allowed.
writeFileSync(BUNDLE, readFileSync(BUNDLE, 'utf8').replace(/^#!.*/, ''));

// One run makes the code cache: what loading every module compiled, common to all commands.
execFileSync(process.execPath, [join(OUT, 'booth-agent.js'), '--version'], {
  env: { ...process.env, BOOTH_AGENT_WRITE_CODE_CACHE: '1' },
  stdio: 'ignore',
});
// The command narrows its umask to the user alone; whoever may run it may read its cache.
chmodSync(`${BUNDLE}.cache`, 0o644);
