// Bundles the `booth-agent` command into dist/booth-agent.js, after tsc has compiled src/ to
// dist/. Unbundled, `booth-agent run` loaded about 300 files one by one (our 70 modules,
// zod's 95, fastify's and the rest): resolving, reading and compiling each took most of its
// start-up. Node's own modules and better-sqlite3 (a native addon) are left out. What is
// imported only when needed (undici, chokidar, the receiver's certificate library) stays
// apart, in dist/booth-agent-*.js beside it: those chunks sit in the same folder as the
// entry, at the depth src/package-root.ts expects.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const OUT = 'dist';
/**
 * Fastify requires these only to compile route schemas (we validate with zod and give it
 * compilers that refuse, src/server/server.ts) and for inject(), which the command never
 * calls. Left out, they would still load from node_modules if ever asked for; bundled, they
 * were a third of the file, compiled at every start.
 */
const NEVER_LOADED = ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'];

for (const name of readdirSync(OUT)) if (name.startsWith('booth-agent')) rmSync(join(OUT, name));

await build({
  input: { 'booth-agent': join(OUT, 'cli.js') },
  platform: 'node',
  external: ['better-sqlite3', ...NEVER_LOADED],
  logLevel: 'warn',
  output: { dir: OUT, format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'booth-agent-[name].js' },
});
