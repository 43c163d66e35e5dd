// @ts-check
// Loaded with `--import` into the agent's child process by the stand-in's utilityProcess.fork:
// gives it the `process.parentPort` an Electron utility process has, over Node's IPC channel.
// As Electron's: messages arrive as `{ data, ports }` and wait until a 'message' listener is
// there, and the process ends when its parent does.
import { EventEmitter } from 'node:events';

/** @type {unknown[]} */
const waiting = [];

const parentPort = /** @satisfies {Pick<import('electron').ParentPort, 'on' | 'once' | 'off' | 'postMessage'>} */ (
  Object.assign(new EventEmitter(), {
    /** @param {unknown} message */
    postMessage(message) {
      if (process.connected) process.send?.(message, () => {});
    },
  })
);

/** @param {unknown} data */
const deliver = (data) => parentPort.emit('message', { data, ports: [] });

parentPort.on('newListener', (event) => {
  if (event === 'message' && parentPort.listenerCount('message') === 0) queueMicrotask(() => waiting.splice(0).forEach(deliver));
});
process.on('message', (data) => {
  if (parentPort.listenerCount('message') > 0) deliver(data);
  else waiting.push(data);
});
// Loading this module lets the event loop run, so the parent may already be gone.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
if (!process.connected) process.kill(process.pid, 'SIGKILL');

Object.defineProperty(process, 'parentPort', { value: parentPort, enumerable: true });
