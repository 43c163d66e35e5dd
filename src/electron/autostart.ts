// Start at login: Electron's login items on Windows and macOS, an XDG autostart entry on
// Linux (Electron has no login items there). The plan is data, so each platform's case is
// tested in Node; applying it takes the two effects it needs as parameters.
import { join } from 'node:path';

export type AutostartPlan =
  { kind: 'login-item'; openAtLogin: boolean; args: string[] } | { kind: 'xdg'; file: string; content: string | null };

/** Passed to the app when the login starts it, so it stays in the tray. */
export const HIDDEN_ARG = '--hidden';

export function autostartPlan(platform: NodeJS.Platform, enabled: boolean, execPath: string, configHome: string): AutostartPlan {
  if (platform === 'win32' || platform === 'darwin') return { kind: 'login-item', openAtLogin: enabled, args: [HIDDEN_ARG] };
  return {
    kind: 'xdg',
    file: join(configHome, 'autostart', 'booth-agent.desktop'),
    content: enabled
      ? [
          '[Desktop Entry]',
          'Type=Application',
          'Name=Booth Agent',
          'Comment=Photobooth webhook agent',
          `Exec="${execPath.replace(/(["`$\\])/g, '\\$1')}" ${HIDDEN_ARG}`,
          'X-GNOME-Autostart-enabled=true',
          'NoDisplay=false',
          'Terminal=false',
          '',
        ].join('\n')
      : null,
  };
}

export interface AutostartEffects {
  setLoginItem(settings: { openAtLogin: boolean; args: string[] }): void;
  writeFile(file: string, content: string): void;
  removeFile(file: string): void;
}

export function applyAutostart(plan: AutostartPlan, effects: AutostartEffects): void {
  if (plan.kind === 'login-item') effects.setLoginItem({ openAtLogin: plan.openAtLogin, args: plan.args });
  else if (plan.content === null) effects.removeFile(plan.file);
  else effects.writeFile(plan.file, plan.content);
}
