// Verify (docs/webhooks.md, "Endpoints"): one small signed POST, and what happened in plain
// words: name lookup, TLS, HTTP status, time taken, a redirect, and the clock difference.
import { ulidFactory } from '../core/ids.js';
import { CLOCK_SKEW_LIMIT_MS, clockSkew } from '../core/clock.js';
import { isAppsScriptAccepted } from '../core/endpoint-url.js';
import { renderBody, type PayloadFormat } from '../core/formats.js';
import { formatDuration } from '../core/policy.js';
import type { VerifyReport } from '../core/read-model.js';
import { checkReachable } from './reachability.js';
import type { Sender, Target } from './sender.js';

const newUlid = ulidFactory();

export async function verifyEndpoint(
  endpoint: Target & { format: PayloadFormat },
  sender: Sender,
  eventId: number | null,
  connectTimeoutMs: number,
  now: () => number = Date.now,
): Promise<VerifyReport> {
  const { hostname } = new URL(endpoint.url);
  const reach = sender.viaProxy
    ? ({ ok: true, address: 'reached through the proxy', tlsProtocol: null, durationMs: 0 } as const)
    : await checkReachable(endpoint.url, endpoint.ca, connectTimeoutMs);
  if (!reach.ok) {
    return {
      ok: false,
      reached: false,
      status: null,
      durationMs: reach.durationMs,
      redirect: null,
      clockSkewMs: null,
      findings: [`Not reached: ${reach.error}.`],
    };
  }
  const findings = sender.viaProxy
    ? [`Sent through the proxy named in HTTPS_PROXY to ${hostname}.`]
    : [`Name lookup: ${hostname} is ${reach.address}.`, `TLS: ${reach.tlsProtocol ?? 'set up'}, certificate trusted.`];
  // In the endpoint's format, so Verify proves that a chat tool or a sheet takes what deliveries will send.
  const body = renderBody(
    endpoint.format,
    Buffer.from(JSON.stringify({ type: 'verify', event_id: eventId ?? 0, timestamp: new Date(now()).toISOString() })),
  );
  const sent = await sender.send(endpoint, `msg_${newUlid()}`, body, false);
  const { outcome } = sent;
  if (outcome.kind !== 'answered') {
    findings.push(`The signed POST got no answer: ${outcome.error} (after ${formatDuration(sent.durationMs)}).`);
    return {
      ok: false,
      reached: outcome.kind === 'no-response',
      status: null,
      durationMs: sent.durationMs,
      redirect: null,
      clockSkewMs: null,
      findings,
    };
  }
  const { status, location } = outcome;
  const accepted = (status >= 200 && status < 300) || isAppsScriptAccepted(endpoint.url, status, location);
  findings.push(
    `HTTP ${status} in ${formatDuration(sent.durationMs)}: ${accepted ? 'the endpoint accepted the signed request' : 'deliveries answered like this would be retried and then fail'}.`,
  );
  const redirect = status >= 300 && status < 400 ? location : null;
  if (redirect !== null) {
    findings.push(
      isAppsScriptAccepted(endpoint.url, status, location)
        ? `Redirect to ${redirect}: this is how Google Apps Script answers, and counts as delivered.`
        : `Redirect to ${redirect}: redirects are not followed, so set the endpoint URL to the final address.`,
    );
  }
  const clockSkewMs = clockSkew(sent.date, sent.startedAt + sent.durationMs / 2);
  if (clockSkewMs !== null) {
    findings.push(
      Math.abs(clockSkewMs) > CLOCK_SKEW_LIMIT_MS
        ? `Clock: this booth is ${formatDuration(Math.abs(clockSkewMs))} ${clockSkewMs > 0 ? 'behind' : 'ahead of'} the endpoint; receivers that check webhook-timestamp will reject deliveries. Set the booth's clock.`
        : 'Clock: the booth and the endpoint agree.',
    );
  }
  return { ok: accepted, reached: true, status, durationMs: sent.durationMs, redirect, clockSkewMs, findings };
}
