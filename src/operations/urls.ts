// The addresses of the running agent: the operator's panel, and the capture URLs booth
// software is given. They name the port the agent actually listens on, never the setting.
import { Refusal, type OperationContext } from './context.js';

export interface CaptureUrls {
  /** With the token in `Authorization: Bearer`. */
  url: string;
  /** With the token in the path, for programs that can only call a plain URL. */
  pathUrl: string;
  /** For dslrBooth's triggers, which append their own query string. */
  dslrBoothUrl: string;
}

export interface AgentUrls {
  port: number;
  /** Carries the admin token in its fragment: for the operator's eyes only. */
  panel: string;
  ingestToken: string;
  capture: CaptureUrls;
}

export function captureUrls(port: number, token: string): CaptureUrls {
  const base = `http://127.0.0.1:${port}`;
  return { url: `${base}/v1/events`, pathUrl: `${base}/t/${token}/v1/events`, dslrBoothUrl: `${base}/t/${token}/dslrbooth` };
}

/** The running agent's URLs; refused (`not-running`) when no agent runs on the data folder. */
export function agentUrls(ctx: OperationContext): AgentUrls {
  const port = ctx.livePort();
  if (port === null) {
    throw new Refusal('not-running', `no agent is running on this data folder; start it with "booth-agent run" (or the desktop app)`);
  }
  const ingestToken = ctx.store.settings.token('ingest_token');
  return {
    port,
    panel: `http://127.0.0.1:${port}/#token=${ctx.store.settings.token('admin_token')}`,
    ingestToken,
    capture: captureUrls(port, ingestToken),
  };
}
