// What counts as an acceptable endpoint URL, and the one redirect that counts as success.
// Kept as small pure predicates with adversarial table tests (test/core/endpoint-url.test.ts).

/** Why `input` cannot be an endpoint URL, in words for the operator, or null when it can. */
export function endpointUrlProblem(input: string): string | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return `"${input}" is not a URL; it should look like https://hooks.example.com/booth`;
  }
  if (url.protocol === 'http:') {
    return "HTTPS is required: webhooks carry guests' personal data, so the URL must start with https://";
  }
  if (url.protocol !== 'https:') {
    return `HTTPS is required: the URL must start with https:// (not ${url.protocol}//)`;
  }
  if (url.username || url.password) {
    return 'the URL must not carry a user name or password; use a secret path or the signature instead';
  }
  if (!url.hostname) return 'the URL has no host name';
  return null;
}

/**
 * A Google Apps Script web app answers a processed POST with 302 to
 * script.googleusercontent.com (where the script's output can be read); that answer means
 * the script ran, so the contract counts it as success.
 */
export function isAppsScriptAccepted(endpointUrl: string, status: number, location: string | null): boolean {
  if (status !== 302 || !location) return false;
  let endpoint: URL;
  let target: URL;
  try {
    endpoint = new URL(endpointUrl);
    target = new URL(location, endpointUrl);
  } catch {
    return false;
  }
  return (
    endpoint.hostname === 'script.google.com' &&
    target.protocol === 'https:' &&
    target.hostname === 'script.googleusercontent.com' &&
    !target.username &&
    !target.password
  );
}
