// The desktop app's decisions, tested in plain Node: nothing here loads Electron.
import { describe, expect, it } from 'vitest';
import { applyAutostart, autostartPlan } from '../../src/electron/autostart.js';
import { proxyFromResolution } from '../../src/electron/proxy.js';
import { HEALTHY_RUN_MS, nextRestart } from '../../src/electron/restart-backoff.js';
import { TOOLTIP_MAX, shouldNotifyFailure, trayModel } from '../../src/electron/tray-state.js';
import { externalUrlAllowed, isPanelUrl, panelOrigin } from '../../src/electron/window-rules.js';
import type { DeliverySummary } from '../../src/store/store.js';

/** A summary whose guests' deliveries are all of its deliveries (no Send Test among them). */
const summary = (counts: Partial<DeliverySummary['counts']> = {}, extra: Partial<DeliverySummary> = {}): DeliverySummary => {
  const all = { queued: 0, waiting: 0, delivered: 0, failed: 0, ...counts };
  return {
    paused: false,
    online: true,
    heldSince: null,
    lastDeliveredAt: null,
    counts: all,
    recovering: { count: 0, nextAt: null },
    closeout: { counts: all, unsent: 0, media: { files: 0, bytes: 0, pages: 0, galleries: 0 } },
    uploads: { waiting: 0, uploading: 0, failed: 0, bytes: 0, bytesDone: 0 },
    ...extra,
  };
};

describe('trayModel', () => {
  it.each([
    [summary({ delivered: 5 }), 'delivered', 'Booth Agent: all delivered'],
    [summary({ queued: 2 }), 'delivered', 'Booth Agent: sending 2'],
    [summary({ waiting: 3 }, { online: false }), 'waiting', 'Booth Agent: 3 waiting for the network'],
    [summary({ failed: 1, waiting: 3 }), 'failed', 'Booth Agent: 1 failed: open the panel'],
    [summary({ queued: 4 }, { paused: true }), 'paused', 'Booth Agent: delivery paused'],
    [summary({ failed: 2 }, { paused: true }), 'failed', 'Booth Agent: 2 failed: open the panel'],
    [summary({ failed: 3 }, { recovering: { count: 3, nextAt: 1 } }), 'delivered', 'Booth Agent: 3 failed, retrying by themselves'],
    [
      summary({ failed: 3, waiting: 1 }, { recovering: { count: 3, nextAt: 1 } }),
      'waiting',
      'Booth Agent: 3 failed, retrying by themselves',
    ],
    [summary({ failed: 3 }, { recovering: { count: 2, nextAt: 1 } }), 'failed', 'Booth Agent: 1 failed: open the panel'],
    [null, 'waiting', 'Booth Agent: starting…'],
  ])('%j → %s icon', (state, icon, head) => {
    const model = trayModel(state, true);
    expect(model.icon).toBe(icon);
    expect(model.tooltip.split('\n')[0]).toBe(head);
  });

  it('puts the closeout verdict and the counts in the tooltip', () => {
    expect(trayModel(summary({ delivered: 7, queued: 1, waiting: 2, failed: 3 }), true).tooltip).toBe(
      'Booth Agent: 3 failed: open the panel\nNot safe to pack up: 6 not delivered\n7 delivered · 1 queued · 2 waiting · 3 failed',
    );
  });

  it(`keeps the tooltip within Windows' ${TOOLTIP_MAX} characters, dropping the counts before the verdict`, () => {
    const big = summary(
      { delivered: 1_234_567, queued: 234_567, waiting: 345_678, failed: 456_789 },
      { recovering: { count: 456_789, nextAt: 1 } },
    );
    big.closeout.unsent = 98_765;
    const tooltip = trayModel(big, true).tooltip;
    expect(tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(tooltip).toBe(
      'Booth Agent: 456789 failed, retrying by themselves\nNot safe to pack up: 1037034 not delivered, 98765 events with no endpoint',
    );
    // The three lines whole would not have fitted: the counts line is what went.
    expect(`${tooltip}\n1234567 delivered · 234567 queued · 345678 waiting · 456789 failed`.length).toBeGreaterThan(TOOLTIP_MAX);
  });

  it('says how many photos are uploading and their size, after the verdict (the counts give way)', () => {
    const uploading = (uploads: Partial<DeliverySummary['uploads']>) =>
      trayModel(
        summary({ delivered: 2, waiting: 3 }, { uploads: { waiting: 0, uploading: 0, failed: 0, bytes: 0, bytesDone: 0, ...uploads } }),
        true,
      ).tooltip;
    expect(uploading({ waiting: 1, uploading: 2, bytes: 45_000_000, bytesDone: 8_388_608 })).toBe(
      'Booth Agent: 3 waiting for the network\nNot safe to pack up: 3 not delivered\nUploading 3 photos (45 MB)',
    );
    expect(uploading({ uploading: 1, bytes: 812, failed: 2 }).split('\n')[2]).toBe('Uploading 1 photo (812 B), 2 uploads failed');
    expect(uploading({ failed: 1 }).split('\n')[2]).toBe('1 upload failed: open the panel');
    expect(uploading({}).split('\n')[2]).toBe('2 delivered · 0 queued · 3 waiting · 0 failed');
  });

  it('drops the counts, then the uploads, to stay within the limit', () => {
    const big = summary(
      { delivered: 1_234_567, waiting: 345_678 },
      { uploads: { waiting: 345_000, uploading: 2, failed: 0, bytes: 1_234_567_890_123, bytesDone: 0 } },
    );
    big.closeout.unsent = 98_765;
    const tooltip = trayModel(big, true).tooltip;
    expect(tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(tooltip).toBe(
      'Booth Agent: 345678 waiting for the network\nNot safe to pack up: 345678 not delivered, 98765 events with no endpoint',
    );
    // The uploads line is what went, and the counts with it.
    expect(`${tooltip}\nUploading 345002 photos (1.2 TB)`.length).toBeGreaterThan(TOOLTIP_MAX);
  });

  it('cuts a start error too long to show with an ellipsis, never inside a character', () => {
    // The camera emoji (two UTF-16 units) begins where the cut falls.
    const folder = 'another booth-agent is already running on the data folder /home/';
    const deep = `${folder}${'x'.repeat(TOOLTIP_MAX - 2 - 'Booth Agent: '.length - folder.length)}📸 photos`;
    const tooltip = trayModel(null, true, deep).tooltip;
    expect(tooltip).toHaveLength(TOOLTIP_MAX - 1);
    expect(tooltip.startsWith('Booth Agent: another booth-agent is already running')).toBe(true);
    expect(tooltip.endsWith('…')).toBe(true);
    expect(tooltip).toBe(Buffer.from(tooltip, 'utf8').toString('utf8')); // no lone surrogate
    expect(trayModel(null, true, 'the data folder is read-only').tooltip).toBe('Booth Agent: the data folder is read-only');
  });

  it.each([
    [summary({ delivered: 12 }), 'Safe to pack up: all 12 delivered'],
    [summary(), 'Safe to pack up: nothing to deliver'],
    // A failed Send Test is not the guests' data: it does not keep the booth from packing up.
    [
      summary(
        { delivered: 4, failed: 1 },
        {
          closeout: {
            counts: { queued: 0, waiting: 0, delivered: 4, failed: 0 },
            unsent: 0,
            media: { files: 0, bytes: 0, pages: 0, galleries: 0 },
          },
        },
      ),
      'Safe to pack up: all 4 delivered',
    ],
    [
      summary(
        { delivered: 4 },
        {
          closeout: {
            counts: { queued: 0, waiting: 0, delivered: 4, failed: 0 },
            unsent: 2,
            media: { files: 0, bytes: 0, pages: 0, galleries: 0 },
          },
        },
      ),
      'Not safe to pack up: 2 events with no endpoint',
    ],
    [
      summary(
        { waiting: 1 },
        {
          closeout: {
            counts: { queued: 0, waiting: 1, delivered: 0, failed: 0 },
            unsent: 1,
            media: { files: 0, bytes: 0, pages: 0, galleries: 0 },
          },
        },
      ),
      'Not safe to pack up: 1 not delivered, 1 event with no endpoint',
    ],
  ])('%j: the tooltip says %j', (state, verdict) => {
    expect(trayModel(state, true).tooltip.split('\n')[1]).toBe(verdict);
  });

  it('offers the menu of the issue, in order, with the right items enabled', () => {
    const labels = (s: DeliverySummary | null, login = true) =>
      trayModel(s, login).menu.map((m) =>
        m.type === 'separator'
          ? '—'
          : `${m.label}${'enabled' in m && !m.enabled ? ' (off)' : ''}${'checked' in m ? ` [${m.checked ? 'x' : ' '}]` : ''}`,
      );
    expect(labels(summary({ failed: 2 }))).toEqual([
      'Open panel',
      '—',
      'Pause delivery',
      'Retry all failed (2)',
      '—',
      'Start at login [x]',
      'Open logs folder',
      '—',
      'Quit Booth Agent',
    ]);
    expect(labels(summary({}, { paused: true }), false)).toEqual([
      'Open panel',
      '—',
      'Resume delivery',
      'Retry all failed (off)',
      '—',
      'Start at login [ ]',
      'Open logs folder',
      '—',
      'Quit Booth Agent',
    ]);
    expect(labels(null)[0]).toBe('Open panel (off)');
  });
});

describe('shouldNotifyFailure', () => {
  it.each([
    [0, 1, null, 0, true],
    [1, 2, 0, 30_000, false],
    [1, 2, 0, 60_000, true],
    [2, 2, null, 0, false],
    [3, 1, null, 0, false],
  ])('failed %i → %i, last notified %j, now %i: %j', (before, after, last, now, expected) => {
    expect(shouldNotifyFailure(before, after, last, now)).toBe(expected);
  });
});

describe('nextRestart', () => {
  it('restarts at once, then backs off 1, 2, 4 … 60 s while the agent keeps dying', () => {
    let state = { crashes: 0 };
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const next = nextRestart(state, 1000);
      delays.push(next.delayMs);
      state = next.state;
    }
    expect(delays).toEqual([0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });
  it('forgets earlier crashes after a healthy run', () => {
    expect(nextRestart({ crashes: 7 }, HEALTHY_RUN_MS)).toEqual({ delayMs: 0, state: { crashes: 1 } });
  });
});

describe('window rules', () => {
  const origin = panelOrigin(7480);
  it.each(['http://127.0.0.1:7480/', 'http://127.0.0.1:7480/#token=x', 'http://127.0.0.1:7480/js/app.js'])(
    'the panel may show %s',
    (url) => {
      expect(isPanelUrl(url, origin)).toBe(true);
    },
  );
  it.each([
    'http://127.0.0.1:7481/',
    'http://localhost:7480/',
    'https://127.0.0.1:7480/',
    'http://127.0.0.1:7480.evil.example/',
    'http://evil.example/?http://127.0.0.1:7480/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'not a url',
  ])('the panel may not navigate to %s', (url) => {
    expect(isPanelUrl(url, origin)).toBe(false);
  });
  it.each(['https://docs.example.com/booth', 'https://hooks.zapier.com/'])('opens %s in the browser', (url) => {
    expect(externalUrlAllowed(url)).toBe(true);
  });
  it.each([
    'http://example.com',
    'file:///C:/Windows/System32/calc.exe',
    'smb://server/share',
    'javascript:alert(1)',
    'ms-settings:',
    'https://user:pw@example.com',
    '',
    'mailto:a@b.c',
  ])('refuses to open %j', (url) => {
    expect(externalUrlAllowed(url)).toBe(false);
  });
});

describe('autostart', () => {
  it('uses login items on Windows and macOS, with the hidden flag', () => {
    for (const platform of ['win32', 'darwin'] as const) {
      expect(autostartPlan(platform, true, 'C:\\Program Files\\Booth Agent\\Booth Agent.exe', '/unused')).toEqual({
        kind: 'login-item',
        openAtLogin: true,
        args: ['--hidden'],
      });
      expect(autostartPlan(platform, false, 'x', '/unused')).toMatchObject({ openAtLogin: false });
    }
  });

  it('writes an XDG autostart entry on Linux, and removes it when turned off', () => {
    const plan = autostartPlan('linux', true, '/opt/Booth Agent/booth-agent', '/home/kiosk/.config');
    expect(plan).toEqual({
      kind: 'xdg',
      file: '/home/kiosk/.config/autostart/booth-agent.desktop',
      content: expect.stringContaining('Exec="/opt/Booth Agent/booth-agent" --hidden\n'),
    });
    const effects: string[] = [];
    const record = {
      setLoginItem: () => effects.push('login'),
      writeFile: (f: string) => effects.push(`write ${f}`),
      removeFile: (f: string) => effects.push(`remove ${f}`),
    };
    applyAutostart(plan, record);
    applyAutostart(autostartPlan('linux', false, '/x', '/home/kiosk/.config'), record);
    applyAutostart(autostartPlan('win32', true, '/x', '/unused'), record);
    expect(effects).toEqual([
      'write /home/kiosk/.config/autostart/booth-agent.desktop',
      'remove /home/kiosk/.config/autostart/booth-agent.desktop',
      'login',
    ]);
  });

  it('quotes an Exec path with shell-special characters', () => {
    const plan = autostartPlan('linux', true, '/opt/a"b$c`d\\e/app', '/c');
    expect(plan.kind === 'xdg' && plan.content).toContain('Exec="/opt/a\\"b\\$c\\`d\\\\e/app" --hidden');
  });
});

describe('proxyFromResolution', () => {
  it.each([
    ['DIRECT', null],
    ['PROXY proxy.venue.local:3128', 'http://proxy.venue.local:3128'],
    ['PROXY 10.0.0.1:8080; DIRECT', 'http://10.0.0.1:8080'],
    ['HTTPS secure.proxy:443', 'https://secure.proxy:443'],
    ['SOCKS5 127.0.0.1:1080; DIRECT', null],
    ['', null],
  ])('%j → %j', (resolution, proxy) => {
    expect(proxyFromResolution(resolution)).toBe(proxy);
  });
});
