// Secrets at rest: endpoint secrets and the agent's tokens are sealed with AES-256-GCM when
// a key is given. The desktop app keeps that key in the operating system's keychain
// through Electron's safeStorage and hands it to its agent; headless, with no key, secrets
// are stored as they are, in a database only the current user can read.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

export interface SecretBox {
  /** Whether this box seals (a key was given). */
  readonly keyed: boolean;
  seal(plain: string): string;
  /** The plain secret, or null when it is sealed and this box cannot open it. */
  open(stored: string): string | null;
}

export class SecretsLockedError extends Error {
  constructor() {
    super(
      'the secrets in this data folder are encrypted by the Booth Agent desktop app; use the app, ' +
        'or give this command the key in BOOTH_AGENT_SECRET_KEY',
    );
    this.name = 'SecretsLockedError';
  }
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** No key: secrets are kept as they are; a sealed one cannot be opened. */
export const PLAIN_BOX: SecretBox = {
  keyed: false,
  seal: (plain) => plain,
  open: (stored) => (isSealed(stored) ? null : stored),
};

/** A box for a 32-byte key. A value stored before the key existed opens as it is. */
export function keyedBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes (base64 in BOOTH_AGENT_SECRET_KEY)');
  return {
    keyed: true,
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(stored) {
      if (!isSealed(stored)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return null;
      }
    },
  };
}

/** The box for this process: keyed when BOOTH_AGENT_SECRET_KEY holds a base64 key. */
export function secretBoxFromEnv(env: NodeJS.ProcessEnv): SecretBox {
  const key = env.BOOTH_AGENT_SECRET_KEY;
  return key ? keyedBox(Buffer.from(key, 'base64')) : PLAIN_BOX;
}
