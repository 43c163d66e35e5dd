// @ts-check
// A module resolve hook (registered by register.mjs): 'electron' is the stand-in.
const STAND_IN = new URL('./electron.mjs', import.meta.url).href;

/**
 * @param {string} specifier
 * @param {{ conditions: string[], importAttributes: Record<string, string>, parentURL?: string }} context
 * @param {(specifier: string, context?: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'electron') return { url: STAND_IN, shortCircuit: true };
  return nextResolve(specifier, context);
}
