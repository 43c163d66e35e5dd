// The agent itself: `run` hosts it in the foreground, `status` says how it is doing.
import type { Command } from 'commander';
import { hostAgent, type HostPort } from '../agent-host.js';
import { DELIVERY_STATUSES } from '../core/policy.js';
import { sizeWords } from '../core/media.js';
import { resolveDataDir } from '../store/data-dir.js';
import { publicEndpoint } from '../store/endpoints.js';
import { liveAgent } from '../store/live-agent.js';
import { summarize } from '../store/store.js';
import { globals, withOperations } from './context.js';
import { describeEndpoint } from './endpoint.js';
import { parsePort } from './options.js';
import { localTime, print } from './output.js';

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('run the agent in the foreground: capture server and delivery')
    .option('--port <n>', 'loopback port (default: the port setting, 7480; 0 picks a free one)', (v) => parsePort(v))
    .action(async (options: { port?: number }, command: Command) => {
      const { stopped } = await hostAgent(
        {
          dataDir: resolveDataDir(globals(command).dataDir),
          ...(options.port !== undefined ? { port: options.port } : {}),
          logToStdout: true,
        },
        signalPort(),
      );
      await stopped;
    });
}

/** `run` is hosted on the process's signals: SIGINT or SIGTERM stop it cleanly, once. */
function signalPort(): HostPort {
  return {
    onCommand(handler) {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        handler({ type: 'stop' });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    post() {},
  };
}

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('whether the agent runs and where, online or not, counts by delivery status, uploads, endpoints, last success')
    .action(async (_options, command: Command) => {
      await withOperations(command, ({ store }, dir) => {
        const live = liveAgent(dir);
        const { online, heldSince, counts, recovering, lastDeliveredAt, uploads } = summarize(store);
        const retrying =
          recovering.count > 0 ? ` (${recovering.count} retrying by themselves, next at ${localTime(recovering.nextAt)})` : '';
        const endpoints = store.endpoints.list().map(publicEndpoint);
        const agent = !live.running ? 'not running' : live.port === null ? 'starting' : `running on http://127.0.0.1:${live.port}`;
        print(
          command,
          { running: live.running, port: live.running ? live.port : null, online, counts, recovering, uploads, endpoints, lastDeliveredAt },
          [
            `agent      ${agent}`,
            `network    ${online ? 'online' : `endpoint(s) unreachable since ${localTime(heldSince)}`}`,
            `deliveries ${DELIVERY_STATUSES.map((s) => `${counts[s]} ${s}`).join(', ')}${retrying}`,
            `uploads    ${uploads.waiting} waiting, ${uploads.uploading} uploading (${sizeWords(uploads.bytesDone)} of ${sizeWords(uploads.bytes)} sent), ${uploads.failed} failed`,
            `endpoints  ${endpoints.length === 0 ? 'none' : `\n${endpoints.map((e) => `  ${describeEndpoint(e)}`).join('\n')}`}`,
            `last delivered ${localTime(lastDeliveredAt)}`,
          ].join('\n'),
        );
      });
    });
}
