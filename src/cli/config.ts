// `config get` and `config set`: the settings.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isSettingKey, parseSetting, SETTING_KEYS, type SettingKey } from '../core/settings.js';
import { changeSettings } from '../operations/settings.js';
import { withOperations } from './context.js';
import { print, UsageError } from './output.js';

export function configCommand(program: Command): void {
  const config = program.command('config').description('read and change settings');

  config
    .command('get [key]')
    .description('print one setting, or all of them')
    .action(async (key: string | undefined, _options, command: Command) => {
      const setting = key === undefined ? undefined : settingKey(key);
      await withOperations(command, ({ store }) => {
        const settings = store.settings.read();
        if (setting !== undefined) {
          print(command, { [setting]: settings[setting] }, String(settings[setting]));
        } else {
          print(command, settings, SETTING_KEYS.map((k) => `${k} = ${String(settings[k])}`).join('\n'));
        }
      });
    });

  config
    .command('set <key> <value>')
    .description('change a setting (a running agent picks it up within a second; port at its next start)')
    .action(async (name: string, value: string, _options, command: Command) => {
      const key = settingKey(name);
      const parsed = parseSetting(key, value);
      if (!parsed.ok) throw new UsageError(parsed.message);
      // The agent reads the template from its own folder, not this shell's: the path is kept whole.
      const setting = key === 'guest_page_template' && typeof parsed.value === 'string' ? resolve(parsed.value) : parsed.value;
      await withOperations(command, async (ctx) => {
        const settings = await changeSettings(ctx, { [key]: setting });
        print(command, { [key]: settings[key] }, `${key} = ${String(settings[key])}`);
      });
    });
}

/** The setting the operator named, or bad input that lists them all. */
function settingKey(name: string): SettingKey {
  if (!isSettingKey(name)) throw new UsageError(`unknown setting "${name}"; the settings are ${SETTING_KEYS.join(', ')}`);
  return name;
}
