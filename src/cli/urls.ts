// What booth software and the operator reach a running agent with: the ingest token and
// capture URLs, and the panel link.
import type { Command } from 'commander';
import { Refusal, type OperationContext } from '../operations/context.js';
import { rotateIngestToken } from '../operations/settings.js';
import { agentUrls, type AgentUrls } from '../operations/urls.js';
import { globals, withOperations } from './context.js';
import { print } from './output.js';

/** The running agent's URLs, or null when none is running on the data folder. */
function urlsIfRunning(ctx: OperationContext): AgentUrls | null {
  try {
    return agentUrls(ctx);
  } catch (error) {
    if (error instanceof Refusal && error.kind === 'not-running') return null;
    throw error;
  }
}

export function tokenCommand(program: Command): void {
  program
    .command('token')
    .description('print the ingest token booth software uses to capture events (and the capture URLs, on standard error)')
    .option('--rotate', 'replace it with a new one (booth software must then use the new one)')
    .action(async (options: { rotate?: boolean }, command: Command) => {
      await withOperations(command, (ctx) => {
        const token = options.rotate ? rotateIngestToken(ctx).token : ctx.store.settings.token('ingest_token');
        const urls = urlsIfRunning(ctx);
        print(command, { token, running: urls !== null, port: urls?.port ?? null, urls: urls?.capture ?? null }, token);
        // The token alone goes to standard output, so that TOKEN=$(booth-agent token) works.
        if (!globals(command).json) {
          process.stderr.write(
            urls === null
              ? 'no agent is running on this data folder: the capture URLs appear here once one runs (booth-agent run)\n'
              : `JSON API   ${urls.capture.url} (Authorization: Bearer <token>)\ntoken in path ${urls.capture.pathUrl}\ndslrBooth  ${urls.capture.dslrBoothUrl}\n`,
          );
        }
      });
    });
}

export function panelUrlCommand(program: Command): void {
  program
    .command('panel-url')
    .description("print the running agent's panel link (it carries the admin token: keep it to yourself)")
    .action(async (_options, command: Command) => {
      await withOperations(command, (ctx) => {
        const { panel, port } = agentUrls(ctx);
        print(command, { url: panel, port }, panel);
      });
    });
}
