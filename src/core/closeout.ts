// "Safe to pack up?": what is still on the booth's disk at the end of an event, and what to
// do about it. Pure: the figures come from the outbox (store/views.ts), the words go to the
// command line, the admin API and the tray.
import { photosWords } from './media.js';
import type { CloseoutFigures, CloseoutReport, EndpointCloseout, MediaOnlyHere, StatusCounts } from './read-model.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The verdict alone, from the figures the tray has. */
export function closeoutVerdict(figures: CloseoutFigures): { safe: boolean; verdict: string } {
  const { queued, waiting, delivered, failed } = figures.counts;
  const pending = queued + waiting + failed;
  const { files, bytes, pages, galleries } = figures.media;
  if (pending === 0 && figures.unsent === 0 && files === 0 && pages === 0 && galleries === 0) {
    return { safe: true, verdict: delivered === 0 ? 'safe to pack up: nothing to deliver' : `safe to pack up: all ${delivered} delivered` };
  }
  const parts = [
    ...(pending > 0 ? [`${pending} not delivered`] : []),
    ...(figures.unsent > 0 ? [`${plural(figures.unsent, 'event', 'events')} with no endpoint`] : []),
    ...(files > 0 ? [`${photosWords(files, bytes)} ${files === 1 ? 'is' : 'are'} only on this booth`] : []),
    ...(pages > 0 ? [`${plural(pages, "guest's page is", "guests' pages are")} not uploaded yet`] : []),
    ...(galleries > 0 ? [`${galleries === 1 ? 'the event gallery is' : `${galleries} event galleries are`} not up to date`] : []),
  ];
  return { safe: false, verdict: `not safe to pack up: ${parts.join(', ')}` };
}

/** The whole report: the verdict, and for each endpoint what waits and what to do. */
export function closeoutReport(input: {
  eventId: number | null;
  endpoints: EndpointCloseout[];
  unsent: number;
  media: MediaOnlyHere;
  paused: boolean;
  now: number;
}): CloseoutReport {
  const totals: StatusCounts = { queued: 0, waiting: 0, delivered: 0, failed: 0 };
  for (const endpoint of input.endpoints)
    for (const status of Object.keys(totals) as (keyof StatusCounts)[]) totals[status] += endpoint[status];
  const { safe, verdict } = closeoutVerdict({ counts: totals, unsent: input.unsent, media: input.media });
  const advice: string[] = [];
  if (input.paused && totals.queued + totals.waiting > 0) advice.push('delivery is paused: resume it (booth-agent resume)');
  for (const e of input.endpoints) {
    if (e.waiting > 0) {
      advice.push(
        `${plural(e.waiting, 'delivery waits', 'deliveries wait')} for ${e.url}, which cannot be reached: keep the booth online ` +
          'and they go out by themselves, or export them (booth-agent export)',
      );
    }
    if (e.queued > 0) {
      advice.push(
        !e.enabled
          ? `${plural(e.queued, 'delivery', 'deliveries')} for ${e.url}, which is disabled${e.disabledReason ? ` (${e.disabledReason})` : ''}: ` +
              `enable it (booth-agent endpoint enable ${e.endpointId}), or export them (booth-agent export)`
          : `${plural(e.queued, 'delivery is', 'deliveries are')} being sent to ${e.url}: keep the booth online a little longer ` +
              '(booth-agent closeout --wait 5m)',
      );
    }
    const { count: recovering, nextAt } = e.recovering;
    if (recovering > 0) {
      advice.push(
        `${plural(recovering, 'delivery', 'deliveries')} to ${e.url} failed and will be tried again by themselves ` +
          `(${nextAt === null || nextAt <= input.now ? 'now' : `next in ${plural(Math.ceil((nextAt - input.now) / 60_000), 'minute', 'minutes')}`}): ` +
          'keep the booth online, or retry them now (booth-agent retry --failed)',
      );
    }
    if (e.failed > recovering) {
      advice.push(
        `${plural(e.failed - recovering, 'delivery', 'deliveries')} to ${e.url} failed: fix the endpoint and retry them (booth-agent retry --failed), ` +
          'or export them (booth-agent export)',
      );
    }
  }
  if (input.unsent > 0) {
    advice.push(
      `${plural(input.unsent, 'event was', 'events were')} captured with no endpoint to send ${input.unsent === 1 ? 'it' : 'them'} to: ` +
        'export them (booth-agent export)',
    );
  }
  if (input.media.files > 0) {
    advice.push(
      `${photosWords(input.media.files, input.media.bytes)} not in the storage yet: keep the booth online and they upload by ` +
        'themselves; should uploads have failed, fix the storage (booth-agent storage verify) and retry them',
    );
  }
  const { pages, galleries } = input.media;
  if (pages + galleries > 0) {
    const what = [
      ...(pages > 0 ? [plural(pages, "guest's page", "guests' pages")] : []),
      ...(galleries > 0 ? [galleries === 1 ? 'the event gallery' : `${galleries} event galleries`] : []),
    ].join(' and ');
    advice.push(
      `${what} still to go up (the photos are in the storage): keep the booth online a little longer and they upload by ` +
        'themselves; should uploads have failed, see why (booth-agent uploads --status failed), fix it and retry them',
    );
  }
  const { eventId, endpoints, unsent, media, paused } = input;
  return { eventId, endpoints, totals, unsent, media, paused, safe, verdict, advice };
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const MAX_WAIT_MS = 24 * 3_600_000;

/** A wait typed by the operator ("30s", "5m", "1h"), in milliseconds; null when it is not one. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)(s|m|h)$/.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * DURATION_UNITS[match[2]!]!;
  return ms <= MAX_WAIT_MS ? ms : null;
}
