// The package's own files (package.json, renderer/, dist/panel/) are found from here: one
// folder up from this module, which sits directly in src/ (tests), in dist/ (compiled), or in
// the bundled command, dist/booth-agent.js (scripts/bundle.mjs keeps it at that depth).
export const PACKAGE_ROOT = new URL('../', import.meta.url);
