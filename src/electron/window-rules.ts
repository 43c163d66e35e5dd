// The panel window's security rules, as predicates with adversarial table tests: the
// window may only show the agent's own panel, and the one door to the outside world opens
// nothing but plain https:// links.

/** The panel's origin for the agent's port: http://127.0.0.1:<port>. */
export function panelOrigin(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** May the panel window navigate to `url`? Only within the panel's own origin. */
export function isPanelUrl(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** May `url` be handed to the operating system's browser? https only, no credentials. */
export function externalUrlAllowed(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && !parsed.username && !parsed.password && parsed.hostname !== '';
  } catch {
    return false;
  }
}
