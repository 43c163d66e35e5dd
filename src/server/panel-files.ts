// The panel's files, served from a fixed list read at start: a request names a file in
// the list or gets 404, so no path (../, %2e%2e, backslashes) can reach anything else.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.js';

export interface PanelFile {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The pages' strict policy: our own scripts, styles and API only, nothing inline, no frames. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * renderer/ (the page, styles) and dist/panel/renderer/src/ (the compiled scripts, the
 * cards' in their folder), by URL path, both found from the package root.
 */
export function loadPanelFiles(
  pageDir = new URL('renderer/', PACKAGE_ROOT),
  scriptDir = new URL('dist/panel/renderer/src/', PACKAGE_ROOT),
): Map<string, PanelFile> {
  const files = new Map<string, PanelFile>();
  const add = (dir: URL, prefix: string, folders: boolean) => {
    let names: string[];
    try {
      names = readdirSync(fileURLToPath(dir));
    } catch {
      return;
    }
    for (const name of names) {
      const type = TYPES[name.slice(name.lastIndexOf('.'))];
      if (type) files.set(`${prefix}${name}`, { type, body: readFileSync(new URL(name, dir)) });
      else if (folders && statSync(new URL(name, dir)).isDirectory()) add(new URL(`${name}/`, dir), `${prefix}${name}/`, folders);
    }
  };
  // The page's folder holds the scripts' sources too: only its own files are served.
  add(pageDir, '/', false);
  add(scriptDir, '/js/', true);
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}
