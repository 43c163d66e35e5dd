// What every operator action runs against. The running agent makes one context for the
// admin API and the desktop host; each CLI command makes one for its data folder. An
// action is written once, under src/operations/, with its validation, its log line and
// the wake of the delivery loop; the front doors (CLI, admin API, panel, tray) only parse,
// call and print.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Issue } from '../core/payload.js';
import type { Sender } from '../delivery/sender.js';
import type { Store } from '../store/store.js';

export interface OperationContext {
  store: Store;
  /** The agent's log (the CLI writes its actions to the same file). */
  readonly log: Logger;
  /**
   * Tells the delivery loop and the upload lane to look again now. In the running agent it
   * wakes them; from the CLI it does nothing, since a running agent sees the change within
   * a second (the upload lane within two).
   */
  wake(): void;
  /** The port the agent of this data folder listens on, or null when none is running. */
  livePort(): number | null;
  /** The HTTP client of Verify and Send Test: the agent's own, or one made for a command. */
  sender(): Sender;
  /** Lease owner for the delivery Send Test claims. */
  owner: string;
  now(): number;
}

/**
 * The operator's request cannot be carried out as asked, and nothing was changed. The
 * CLI exits with 2 (1 for `not-running`), the admin API answers 400, 404, 409 or 503.
 */
export class Refusal extends Error {
  constructor(
    readonly kind: 'invalid' | 'not-found' | 'conflict' | 'not-running',
    message: string,
    /** For `invalid`: each problem with the path of the field it is about. */
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
    this.name = 'Refusal';
  }

  /** Refuses input, naming every problem and the path of its field. */
  static invalid(issues: readonly Issue[]): Refusal {
    return new Refusal('invalid', issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), issues);
  }
}

/** Validates an action's input, or refuses it naming every problem and its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw Refusal.invalid(result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })));
}
