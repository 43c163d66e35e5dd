// What an endpoint can subscribe to: the booth's payloads (core/payload.ts) and the agent's
// own events, the alerts (docs/webhooks.md, "Alerts"). An endpoint with no types takes
// every booth payload and no alert, so a receiver added before alerts existed never gets
// one; alerts go only where they were asked for, by name or all of them as `agent.*`.
import { PAYLOAD_TYPES, type PayloadType } from './payload.js';

export const AGENT_EVENT_TYPES = [
  'agent.delivery_failed',
  'agent.endpoint_disabled',
  'agent.backlog_waiting',
  'agent.recovered',
  'agent.heartbeat',
  'agent.upload_failed',
  'agent.disk_low',
] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

/** Every type an event in the outbox can have. */
export type EventType = PayloadType | AgentEventType;

/** In an endpoint's types: every alert, including ones added in later versions. */
export const ALL_AGENT_EVENTS = 'agent.*';

/** One entry of an endpoint's types. */
export type TypeFilter = EventType | typeof ALL_AGENT_EVENTS;
export const TYPE_FILTERS: readonly TypeFilter[] = [...PAYLOAD_TYPES, ...AGENT_EVENT_TYPES, ALL_AGENT_EVENTS];

export function isAgentEventType(type: string): type is AgentEventType {
  return (AGENT_EVENT_TYPES as readonly string[]).includes(type);
}

/** Whether an endpoint with these types takes an event of `type` (the outbox's capture says the same in SQL). */
export function subscribes(types: readonly TypeFilter[] | null, type: EventType): boolean {
  if (isAgentEventType(type)) return types !== null && (types.includes(type) || types.includes(ALL_AGENT_EVENTS));
  return types === null || types.includes(type);
}

/** Whether an endpoint with these types takes any booth payload (an alert-only endpoint does not). */
export function takesBoothPayloads(types: readonly TypeFilter[] | null): boolean {
  return PAYLOAD_TYPES.some((type) => subscribes(types, type));
}
