// What the tray shows for a delivery summary: the icon, the tooltip (with the verdict of
// `booth-agent closeout`: safe to pack up or not) and the menu, as plain data. main.ts
// turns it into Electron's Tray and Menu; everything here is tested in Node.
import { closeoutVerdict } from '../core/closeout.js';
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

/** `summary` is null until the agent has said how things stand (starting, or restarting). */
export function trayModel(summary: DeliverySummary | null, startAtLogin: boolean): TrayModel {
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
    tooltip: tooltip(summary),
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

function tooltip(summary: DeliverySummary | null): string {
  if (summary === null) return 'Booth Agent: starting…';
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
  return `Booth Agent: ${head}\n${verdict.charAt(0).toUpperCase()}${verdict.slice(1)}\n${delivered} delivered · ${queued} queued · ${waiting} waiting · ${failed} failed`;
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
