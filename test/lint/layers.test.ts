// The layers the README describes are kept by ESLint (eslint.config.js): these cases show
// that each rule refuses what it is there to refuse, and lets the allowed through.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.message);
}

describe('the layers', () => {
  it.each([
    ['src/cli.ts', "import { app } from 'electron';\nexport const a = app;\n", 'Only src/electron/ imports Electron'],
    ['src/cli/x.ts', "import { app } from 'electron';\nexport const a = app;\n", 'Only src/electron/ imports Electron'],
    ['src/core/x.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n", 'src/core/ is pure'],
    ['src/core/x.ts', "import { connect } from 'net';\nexport const a = connect;\n", 'src/core/ is pure'],
    [
      'src/core/x.ts',
      "import { openStore } from '../store/store.js';\nexport const a = openStore;\n",
      'imports nothing from the layers above it',
    ],
    [
      'src/core/x.ts',
      "import { Dispatcher } from '../delivery/dispatcher.js';\nexport const a = Dispatcher;\n",
      'imports nothing from the layers above it',
    ],
    [
      'src/core/x.ts',
      "import { startServer } from '../server/server.js';\nexport const a = startServer;\n",
      'imports nothing from the layers above it',
    ],
    ['renderer/src/x.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n", 'imports nothing from Node'],
  ])('%s: refuses %j', async (file, code, message) => {
    expect(await problems(file, code)).toEqual([expect.stringContaining(message)]);
  });

  it.each([
    ['src/electron/x.ts', "import { app } from 'electron';\nexport const a = app;\n"],
    ['src/cli.ts', "import type { App } from 'electron';\nexport type A = App;\n"],
    ['src/core/x.ts', "import { createHmac } from 'node:crypto';\nimport { z } from 'zod';\nexport const a = [createHmac, z];\n"],
    ['src/store/x.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n"],
  ])('%s: allows %j', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
