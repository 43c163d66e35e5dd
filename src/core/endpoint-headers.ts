// The extra headers an endpoint can be given, for receivers that want a key (a CRM's API
// key, n8n's Header Auth, Make's x-make-apikey). The contract's own headers cannot be
// replaced, and neither can those that describe the connection rather than the request.

/** Headers the contract sets on every delivery (docs/webhooks.md, "Headers"). */
export const CONTRACT_HEADERS = [
  'content-type',
  'content-length',
  'host',
  'x-signature',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-booth-agent-test',
] as const;

/** Headers of the connection, which the HTTP client manages (and refuses to be given). */
const CONNECTION_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-connection'];

export const MAX_HEADERS = 20;
const MAX_VALUE_LENGTH = 4096;

/** An HTTP field name: a token (RFC 9110, section 5.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What is wrong with a header name, or null. */
export function headerNameProblem(name: string): string | null {
  if (!TOKEN.test(name)) return `"${name}" is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`;
  const lower = name.toLowerCase();
  if ((CONTRACT_HEADERS as readonly string[]).includes(lower))
    return `${name} is set by Booth Agent on every delivery and cannot be replaced`;
  if (CONNECTION_HEADERS.includes(lower)) return `${name} describes the connection, which Booth Agent manages`;
  return null;
}

/** What is wrong with a header value, or null. The value itself is never part of the message. */
export function headerValueProblem(name: string, value: string): string | null {
  if (/[\r\n]/.test(value)) return `the value of ${name} contains a line break (CR or LF)`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return `the value of ${name} contains a control character`;
  if (value.trim() === '') return `the value of ${name} is empty`;
  if (value.length > MAX_VALUE_LENGTH) return `the value of ${name} is longer than ${MAX_VALUE_LENGTH} characters`;
  return null;
}

/** Stands in for every header value in what the operator sees. */
export const MASKED_VALUE = '••••••';

/** The same headers with their values masked, for listings and the delivery detail. */
export function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED_VALUE]));
}
