// What can be checked of the installers without Electron's binary: the builder
// configuration against electron-builder's own schema, and every file it and the app name.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const config = yaml.load(read('electron-builder.yml')) as Record<string, any>;
const pkg = JSON.parse(read('package.json'));

describe('packaging', () => {
  it("electron-builder.yml matches electron-builder's schema", () => {
    const schema = require('app-builder-lib/scheme.json');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
  });

  it('builds NSIS with a per-machine choice, a hardened dmg, AppImage and deb', () => {
    expect(config.win.target[0].target).toBe('nsis');
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: false, allowElevation: true });
    expect(config.mac).toMatchObject({ hardenedRuntime: true, entitlements: 'build/entitlements.mac.plist' });
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.npmRebuild).toBe(false);
    expect(config.extraResources).toEqual([{ from: 'native/electron/better_sqlite3.node', to: 'native/better_sqlite3.node' }]);
  });

  it('names files that exist: the built main process, the agent entry, icons, entitlements', () => {
    expect(pkg.main).toBe('dist/electron/main.js');
    for (const file of [pkg.main, 'dist/electron/agent-entry.js', 'build/icon.png', 'build/entitlements.mac.plist', 'assets/icon.svg']) {
      expect(existsSync(new URL(file, root)), file).toBe(true);
    }
    for (const state of ['delivered', 'waiting', 'failed', 'paused']) {
      for (const file of [`assets/tray/${state}.png`, `assets/tray/${state}@2x.png`])
        expect(existsSync(new URL(file, root)), file).toBe(true);
    }
    expect(read('build/entitlements.mac.plist')).toContain('com.apple.security.cs.allow-jit');
  });

  it('keeps Electron out of everything but src/electron, and out of the install', () => {
    expect(pkg.dependencies.electron).toBeUndefined();
    expect(pkg.devDependencies.electron).toMatch(/^\^45\./);
    expect(pkg.allowScripts).toEqual({ 'better-sqlite3': true, 'electron-winstaller': false });
  });
});
