// Runs an Agent for whoever hosts it, over a small message port: `booth-agent run` hosts it
// on the process's signals, the desktop app in an Electron utility process on its parent
// port. The agent is the same in both; only the port differs.
import { z } from 'zod';
import { startAgent, type Agent, type AgentOptions } from './agent.js';
import { retryAllFailed, setPaused } from './operations/deliveries.js';
import { agentUrls } from './operations/urls.js';
import { summarize, type DeliverySummary } from './store/store.js';

export const hostCommandSchema = z.discriminatedUnion('type', [
  /** Stop taking work, let attempts in flight finish (up to 5 s), close the database. */
  z.object({ type: z.literal('stop') }),
  /** The OS says the network is back, or the machine woke: check held endpoints now. */
  z.object({ type: z.literal('network-changed') }),
  z.object({ type: z.literal('pause'), paused: z.boolean() }),
  z.object({ type: z.literal('retry-failed') }),
]);
export type HostCommand = z.infer<typeof hostCommandSchema>;

export type HostEvent =
  | { type: 'ready'; port: number; panelUrl: string }
  | { type: 'status'; status: DeliverySummary }
  | { type: 'stopped' }
  /** The agent could not start (database unreadable, port in use); the process ends. */
  | { type: 'error'; message: string };

export interface HostPort {
  onCommand(handler: (command: HostCommand) => void): void;
  post(event: HostEvent): void;
}

export interface HostedAgent {
  agent: Agent;
  /** Settles once the agent has stopped on a `stop` command. */
  stopped: Promise<void>;
}

export async function hostAgent(options: AgentOptions, port: HostPort): Promise<HostedAgent> {
  const agent = await startAgent(options);
  const { store, dispatcher, log, operations } = agent;
  const sendStatus = () => port.post({ type: 'status', status: summarize(store) });
  const unsubscribe = agent.changes.subscribe(sendStatus);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  port.onCommand((command) => {
    switch (command.type) {
      case 'stop':
        unsubscribe();
        void agent.stop().then(() => {
          port.post({ type: 'stopped' });
          resolveStopped();
        });
        return;
      case 'network-changed':
        log.info('network change reported by the operating system; checking endpoints now');
        dispatcher.networkChanged();
        return;
      case 'pause':
        setPaused(operations, command.paused);
        sendStatus();
        return;
      case 'retry-failed':
        retryAllFailed(operations);
        sendStatus();
        return;
    }
  });
  port.post({ type: 'ready', port: agent.port, panelUrl: agentUrls(operations).panel });
  sendStatus();
  return { agent, stopped };
}
