// @ts-check
// `node --import ./register.mjs dist/electron/main.js`: the desktop app's main process under
// Node, with the specifier 'electron' resolved to the stand-in beside this file.
import { register } from 'node:module';

register('./resolve-electron.mjs', import.meta.url);
