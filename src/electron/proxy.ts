// The system proxy, as Electron's session.resolveProxy reports it ("PROXY host:port;
// DIRECT"), turned into the HTTPS_PROXY the agent's undici client honours. An explicit
// HTTPS_PROXY in the environment wins.

export function proxyFromResolution(resolution: string): string | null {
  for (const entry of resolution.split(';').map((e) => e.trim())) {
    const match = /^(PROXY|HTTPS)\s+([^\s]+)$/i.exec(entry);
    if (match) return `${match[1]!.toUpperCase() === 'HTTPS' ? 'https' : 'http'}://${match[2]}`;
    if (/^DIRECT$/i.test(entry)) return null;
  }
  return null;
}
