// The admin API, as the page calls it. The admin token arrives in the link's fragment
// (#token=…, never sent to any server), is kept for this tab only, and goes in the
// Authorization header of every request, so no other page can borrow it.

const TOKEN_KEY = 'booth-agent-admin-token';

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** What went wrong, in the words to show the operator. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function adminToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]!));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${adminToken() ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw await refusal(response);
  return (await response.json().catch(() => ({}))) as T;
}

/** The admin API's refusal, with its message and every issue it names. */
async function refusal(response: Response): Promise<ApiError> {
  const data = (await response.json().catch(() => ({}))) as { error?: string; issues?: Issue[] };
  return new ApiError(response.status, data.error ?? `HTTP ${response.status}`, data.issues ?? []);
}

/** Fetches a file the admin API offers for download, with the name it suggests. */
export async function download(path: string): Promise<{ file: Blob; name: string }> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${adminToken() ?? ''}` } });
  if (!response.ok) throw await refusal(response);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'booth-agent-export';
  return { file: await response.blob(), name };
}

/**
 * An image the admin API answers, as a data: URL for an <img>: its src could not carry the
 * token, which travels in a header (the page's policy takes images from data: URLs).
 */
export async function image(path: string): Promise<string> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${adminToken() ?? ''}` } });
  if (!response.ok) throw await refusal(response);
  const file = await response.blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error('the image could not be read'));
    reader.readAsDataURL(file);
  });
}

/**
 * Follows /api/stream (server-sent events, read through fetch so the token can travel in a
 * header) and reconnects after a break, telling `onConnected` how it goes.
 */
export function follow<T>(onState: (state: T) => void, onConnected: (connected: boolean) => void): void {
  let delay = 500;
  const connect = async (): Promise<void> => {
    try {
      const response = await fetch('/api/stream', { headers: { authorization: `Bearer ${adminToken() ?? ''}` } });
      if (!response.ok || !response.body) throw new ApiError(response.status, `HTTP ${response.status}`);
      onConnected(true);
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data) onState(JSON.parse(data) as T);
        }
      }
    } catch {
      // the agent stopped or restarted: say so, and try again
    }
    onConnected(false);
    setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, 5000);
  };
  void connect();
}
