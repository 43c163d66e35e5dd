// A self-signed certificate for 127.0.0.1, made once per test file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { tempDir } from './temp.js';

export interface TestCertificate {
  cert: string;
  key: string;
  /** The certificate as a file, for NODE_EXTRA_CA_CERTS or `endpoint add --ca`. */
  file: string;
}

let made: Promise<TestCertificate> | undefined;

export function testCertificate(): Promise<TestCertificate> {
  made ??= (async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    const file = join(tempDir('cert-'), 'receiver.pem');
    writeFileSync(file, pems.cert);
    return { cert: pems.cert, key: pems.private, file };
  })();
  return made;
}
