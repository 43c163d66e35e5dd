// The agent process of the desktop app: an Electron utility process, so a fault in the
// agent never takes the tray down. It runs the very agent `booth-agent run` runs; only the
// port it is hosted on differs (the parent port instead of signals). Nothing here imports
// electron: `process.parentPort` is what Electron gives a utility process.
import { hostAgent } from '../agent-host.js';
import { resolveDataDir } from '../store/data-dir.js';
import { parentPortHost, type MessagePortLike } from './parent-port.js';

const parentPort = (process as NodeJS.Process & { parentPort?: MessagePortLike }).parentPort;
if (!parentPort) throw new Error('agent-entry.js runs in an Electron utility process (use `booth-agent run` elsewhere)');

try {
  const { agent, stopped } = await hostAgent(
    {
      dataDir: resolveDataDir(),
      ...(process.env.BOOTH_AGENT_NATIVE_BINDING ? { nativeBinding: process.env.BOOTH_AGENT_NATIVE_BINDING } : {}),
    },
    parentPortHost(parentPort, (data) => console.error('ignored a message that is not a command', data)),
  );
  agent.log.info('agent running in the desktop app');
  await stopped;
  process.exit(0);
} catch (error) {
  parentPort.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
