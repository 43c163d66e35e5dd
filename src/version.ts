import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from './package-root.js';

const pkg = createRequire(new URL('package.json', PACKAGE_ROOT))('./package.json') as { version: string };

export const VERSION = pkg.version;
export const USER_AGENT = `BoothAgent/${VERSION}`;
