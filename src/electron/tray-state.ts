// What the tray shows for a delivery summary: the icon, the tooltip (with the verdict of
// `booth-agent closeout`: safe to pack up or not) and the menu, as plain data. main.ts
// turns it into Electron's Tray and Menu; everything here is tested in Node.
import { closeoutVerdict } from '../core/closeout.js';
import { sizeWords } from '../core/media.js';
import type { UploadCounts } from '../core/read-model.js';
import type { DeliverySummary } from '../store/store.js';

export type TrayIcon = 'delivered' | 'waiting' | 'failed' | 'paused';

export type MenuAction = 'open-panel' | 'pause' | 'resume' | 'retry-failed' | 'start-at-login' | 'open-logs' | 'quit';

export type MenuItemModel =
  | { type: 'normal'; action: MenuAction; label: string; enabled: boolean }
  | { type: 'checkbox'; action: MenuAction; label: string; checked: boolean }
  | { type: 'separator' };

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: MenuItemModel[];
}

/** The longest tooltip Windows shows whole, in UTF-16 code units (NOTIFYICONDATA's szTip holds 128 with the NUL). */
export const TOOLTIP_MAX = 127;

/**
 * `summary` is null until the agent has said how things stand (starting, or restarting);
 * `startError` says why the agent could not start, until it is ready again.
 */
export function trayModel(summary: DeliverySummary | null, startAtLogin: boolean, startError: string | null = null): TrayModel {
  const icon: TrayIcon =
    summary === null
      ? 'waiting'
      : needingOperator(summary) > 0
        ? 'failed'
        : summary.paused
          ? 'paused'
          : summary.counts.waiting > 0
            ? 'waiting'
            : 'delivered';
  return {
    icon,
    tooltip: fitTooltip(startError === null ? tooltipLines(summary) : [`Booth Agent: ${startError}`]),
    menu: [
      { type: 'normal', action: 'open-panel', label: 'Open panel', enabled: summary !== null },
      { type: 'separator' },
      summary?.paused
        ? { type: 'normal', action: 'resume', label: 'Resume delivery', enabled: true }
        : { type: 'normal', action: 'pause', label: 'Pause delivery', enabled: summary !== null },
      {
        type: 'normal',
        action: 'retry-failed',
        label: summary && summary.counts.failed > 0 ? `Retry all failed (${summary.counts.failed})` : 'Retry all failed',
        enabled: (summary?.counts.failed ?? 0) > 0,
      },
      { type: 'separator' },
      { type: 'checkbox', action: 'start-at-login', label: 'Start at login', checked: startAtLogin },
      { type: 'normal', action: 'open-logs', label: 'Open logs folder', enabled: true },
      { type: 'separator' },
      { type: 'normal', action: 'quit', label: 'Quit Booth Agent', enabled: true },
    ],
  };
}

function tooltipLines(summary: DeliverySummary | null): string[] {
  if (summary === null) return ['Booth Agent: starting…'];
  const { queued, waiting, delivered, failed } = summary.counts;
  const head =
    needingOperator(summary) > 0
      ? `${needingOperator(summary)} failed: open the panel`
      : summary.paused
        ? 'delivery paused'
        : failed > 0
          ? `${failed} failed, retrying by themselves`
          : waiting > 0
            ? `${waiting} waiting for the network`
            : queued > 0
              ? `sending ${queued}`
              : 'all delivered';
  const { verdict } = closeoutVerdict(summary.closeout);
  return [
    `Booth Agent: ${head}`,
    `${verdict.charAt(0).toUpperCase()}${verdict.slice(1)}`,
    ...uploadLine(summary.uploads),
    `${delivered} delivered · ${queued} queued · ${waiting} waiting · ${failed} failed`,
  ];
}

/** "Uploading 3 photos (45 MB)", and the uploads that failed; nothing when none waits or failed. */
function uploadLine(uploads: UploadCounts): string[] {
  const going = uploads.waiting + uploads.uploading;
  const failed = uploads.failed > 0 ? `${uploads.failed} upload${uploads.failed === 1 ? '' : 's'} failed` : null;
  if (going === 0) return failed === null ? [] : [`${failed.charAt(0).toUpperCase()}${failed.slice(1)}: open the panel`];
  const line = `Uploading ${going} photo${going === 1 ? '' : 's'} (${sizeWords(uploads.bytes)})`;
  return [failed === null ? line : `${line}, ${failed}`];
}

/**
 * The lines, most important first, that fit in TOOLTIP_MAX: whole lines while they fit, so
 * the counts go before the verdict does; a first line too long alone (a start error naming
 * a deep path) is cut with an ellipsis, never inside a surrogate pair.
 */
function fitTooltip(lines: string[]): string {
  let text = '';
  for (const line of lines) {
    const next = text === '' ? line : `${text}\n${line}`;
    if (next.length > TOOLTIP_MAX) break;
    text = next;
  }
  if (text !== '') return text;
  let end = TOOLTIP_MAX - 1;
  if (/[\uD800-\uDBFF]/.test(lines[0]!.charAt(end - 1))) end--;
  return `${lines[0]!.slice(0, end)}…`;
}

/** Failed deliveries that will not be tried again by themselves: the ones the operator must act on. */
export function needingOperator(summary: DeliverySummary): number {
  return summary.counts.failed - summary.recovering.count;
}

/**
 * A native notification when deliveries fail, at most once per `intervalMs`: only when the
 * failed count went up, so an operator who has seen the failures is not told again.
 */
export function shouldNotifyFailure(
  previousFailed: number,
  failed: number,
  lastNotifiedAt: number | null,
  now: number,
  intervalMs = 60_000,
): boolean {
  if (failed <= previousFailed) return false;
  return lastNotifiedAt === null || now - lastNotifiedAt >= intervalMs;
}
