// Keeps the hot folder in step with its settings: started, moved or stopped within a couple
// of seconds of `config set hot_folder …` or the panel, without restarting the agent.
import type { Logger } from 'pino';
import type { Settings } from '../core/settings.js';
import type { HotFolder, HotFolderOptions } from './hot-folder.js';

const FOLLOW_MS = 2000;

export class HotFolderSetting {
  private current: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly folder: HotFolder,
    private readonly log: Logger,
  ) {}

  /**
   * Lists the configured folder if it has never been watched, so that what it holds now is
   * what counts as already there; the agent does this before its capture server answers.
   */
  firstLook(settings: Settings): void {
    const wanted = hotFolderOptions(settings);
    if (wanted === null) return;
    try {
      this.folder.firstLook(wanted);
    } catch {
      // `follow` lists it again as it starts the watch, and logs why that fails.
    }
  }

  async follow(settings: () => Settings): Promise<void> {
    await this.sync(settings());
    this.timer = setInterval(() => {
      this.syncing = this.syncing.then(() => this.sync(settings()));
    }, FOLLOW_MS);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.syncing;
    await this.folder.stop();
  }

  private async sync(settings: Settings): Promise<void> {
    const wanted = hotFolderOptions(settings);
    const key = wanted === null ? null : JSON.stringify(wanted);
    if (key === this.current) return;
    await this.folder.stop();
    this.current = key;
    if (wanted === null) return;
    try {
      await this.folder.start(wanted);
    } catch (error) {
      this.log.error({ err: error, folder: wanted.folder }, 'hot folder could not be watched');
    }
  }
}

function hotFolderOptions(settings: Settings): HotFolderOptions | null {
  return settings.hot_folder === null
    ? null
    : {
        folder: settings.hot_folder,
        settleMs: settings.hot_folder_settle_ms,
        polling: settings.hot_folder_polling,
        importExisting: settings.hot_folder_import_existing,
      };
}
