// The booth-agent command (docs/capture-api.md, "The command line"). Every command works on a
// data folder whether or not an agent is running there: SQLite's WAL lets the CLI and a
// running agent share the outbox, and the agent notices the CLI's changes within a second.
// Operator actions are the operations of src/operations/; a command parses its arguments,
// calls one, and prints what it answered.
import { Command, CommanderError } from 'commander';
import { Refusal } from '../operations/context.js';
import { VERSION } from '../version.js';
import { runCommand, statusCommand } from './agent.js';
import { emitCommand, hotFolderCommand } from './capture.js';
import { configCommand } from './config.js';
import { deliveriesCommand, pauseAndResumeCommands, retryCommand } from './deliveries.js';
import { endpointCommand } from './endpoint.js';
import { closeoutCommand, eraseCommand, exportCommand, replayCommand } from './events.js';
import { refusalMessage, UsageError } from './output.js';
import { receiveCommand } from './receive.js';
import { storageCommand } from './storage.js';
import { uploadsCommand } from './uploads.js';
import { panelUrlCommand, tokenCommand } from './urls.js';

/**
 * Each command group is a file of src/cli/ whose functions add its commands to the program;
 * a group added later is its file and its line here. This is the order `--help` lists them in.
 */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  runCommand,
  endpointCommand,
  storageCommand,
  uploadsCommand,
  configCommand,
  emitCommand,
  statusCommand,
  deliveriesCommand,
  retryCommand,
  exportCommand,
  replayCommand,
  hotFolderCommand,
  eraseCommand,
  closeoutCommand,
  pauseAndResumeCommands,
  tokenCommand,
  panelUrlCommand,
  receiveCommand,
];

function createProgram(): Command {
  const program = new Command('booth-agent')
    .description('On-device webhook agent for photobooths')
    .version(VERSION)
    .option('--data-dir <dir>', 'data folder (default: BOOTH_AGENT_DATA_DIR, else the per-user data folder)')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError()
    .exitOverride();
  for (const addCommand of COMMANDS) addCommand(program);
  return program;
}

/** Runs the command line of this process, and sets its exit status. */
export async function main(): Promise<void> {
  // Everything the agent writes (database, logs, lock) is for this user's eyes only.
  process.umask(0o077);
  try {
    await createProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof Refusal) {
      process.stderr.write(`booth-agent: ${refusalMessage(error)}\n`);
      process.exitCode = error.kind === 'not-running' ? 1 : 2;
      return;
    }
    process.stderr.write(`booth-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}
