// Send Test (docs/webhooks.md, "Endpoints"): the contract's example payload of a chosen type,
// stored and signed like any other delivery, marked `X-Booth-Agent-Test: true`, and tried
// at once so the operator sees the result. If that first attempt does not succeed, the
// delivery follows the ordinary rules from there (retries, waiting), visible in the list.
import { EXAMPLE_PAYLOADS } from '../core/examples.js';
import type { PayloadType } from '../core/payload.js';
import type { TestResult } from '../core/read-model.js';
import type { Settings } from '../core/settings.js';
import type { Endpoint } from '../store/endpoints.js';
import { attemptDelivery, type AttemptDeps } from './attempt.js';

export async function sendTest(deps: AttemptDeps, endpoint: Endpoint, type: PayloadType, settings: Settings): Promise<TestResult> {
  const now = (deps.now ?? Date.now)();
  const example = EXAMPLE_PAYLOADS[type];
  const body = Buffer.from(
    JSON.stringify({ ...example, event_id: settings.event_id ?? example.event_id, timestamp: new Date(now).toISOString() }),
  );
  const captured = deps.queue.capture(
    {
      type,
      body,
      dedupeKey: null,
      occurredAt: new Date(now).toISOString(),
      sessionId: example.session.id,
      test: true,
      onlyEndpoint: endpoint.id,
    },
    now,
    settings.idempotency_window_ms,
  );
  const deliveryId = captured.deliveryIds[0]!;
  const claim = deps.queue.claimById(deliveryId, deps.owner, now, settings.lease_ms);
  if (!claim) return { deliveryId, status: 'queued', reason: 'queued: the running agent is sending it' };
  const result = await attemptDelivery(deps, endpoint, claim, settings);
  return { deliveryId, status: result!.decision.status, reason: result!.decision.reason };
}
