// What counts as an acceptable storage address: the S3 API's URL and the public URL guests
// open files under. Small pure predicates with adversarial table tests (test/core/storage-url.test.ts).

/** Why `input` cannot be the S3 API's URL (`api`) or the public URL of the files (`public`), or null when it can. */
export function storageUrlProblem(input: string, role: 'api' | 'public'): string | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return `"${input}" is not a URL; it should look like ${role === 'api' ? 'https://s3.eu-west-1.amazonaws.com' : 'https://photos.example.com'}`;
  }
  if (url.protocol !== 'https:') {
    return `HTTPS is required: guests' photos travel through it, so the URL must start with https:// (not ${url.protocol}//)`;
  }
  if (url.username || url.password) return 'the URL must not carry a user name or password; the key goes in its own fields';
  if (!url.hostname) return 'the URL has no host name';
  if (url.search || url.hash) return 'the URL must not have a query (?…) or a fragment (#…)';
  if (role === 'api' && url.pathname !== '/') {
    return "give the service's address without a path or the bucket's name (the bucket has its own field)";
  }
  return null;
}

/** The URL as stored: a public URL without its trailing slashes, so a key is added after one '/'. */
export function normalizeStorageUrl(input: string, role: 'api' | 'public'): string {
  const href = new URL(input).href;
  return role === 'api' ? href.replace(/\/$/, '') : href.replace(/\/+$/, '');
}
