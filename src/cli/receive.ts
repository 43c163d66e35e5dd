// `receive`: a local HTTPS receiver to try webhooks on before the real endpoint exists.
import type { Command } from 'commander';
import { openStore } from '../store/store.js';
import { dataDir } from './context.js';
import { parsePort } from './options.js';

export function receiveCommand(program: Command): void {
  program
    .command('receive')
    .description('a local HTTPS receiver that prints and checks the webhooks it gets, to try things before the real endpoint exists')
    .option('--port <n>', 'port on 127.0.0.1 (default 9443)', (v) => parsePort(v), 9443)
    .option('--secret <secret>', "the endpoint's secret (default: the secrets of this data folder's endpoints on that port)")
    .action(async (options: { port: number; secret?: string }, command: Command) => {
      const dir = dataDir(command);
      // Loaded here: its certificate library alone takes a fifth of a second to load, which
      // `run` should not pay at every start.
      const { startTryReceiver } = await import('../receive.js');
      const receiver = await startTryReceiver({
        port: options.port,
        dataDir: dir.root,
        secrets: () => {
          if (options.secret) return [options.secret];
          const store = openStore(dir.database);
          try {
            return store.endpoints
              .list()
              .filter((e) => new URL(e.url).host === `127.0.0.1:${receiver.port}` && !e.secretsLocked)
              .flatMap((e) => [e.secret, ...(e.previousSecret ? [e.previousSecret] : [])]);
          } finally {
            store.close();
          }
        },
        print: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(
        `listening on ${receiver.url}\nsend webhooks here with:\n  booth-agent endpoint add ${receiver.url} --ca ${receiver.caFile}\n(Ctrl-C to stop)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => void receiver.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
