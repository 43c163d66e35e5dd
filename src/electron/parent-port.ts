// The agent's port when it runs in an Electron utility process: commands arrive on the
// parent port (and are validated, since a message is only data), events go back on it.
import { hostCommandSchema, type HostPort } from '../agent-host.js';

/** The part of Electron's ParentPort the agent uses (a fake in tests). */
export interface MessagePortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

export function parentPortHost(port: MessagePortLike, onInvalid: (data: unknown) => void = () => {}): HostPort {
  return {
    onCommand(handler) {
      port.on('message', (event) => {
        const command = hostCommandSchema.safeParse(event.data);
        if (command.success) handler(command.data);
        else onInvalid(event.data);
      });
    },
    post(event) {
      port.postMessage(event);
    },
  };
}
