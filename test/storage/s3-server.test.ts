// The S3-compatible test server, driven through the agent's own S3 client (the AWS SDK): what a
// real service accepts it accepts, and what a real service refuses it refuses with S3's codes.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentMd5, openS3, type S3 } from '../../src/storage/s3-client.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

const PART = 64 * 1024;
const options = { connectTimeoutMs: 2000, idleTimeoutMs: 5000, maxAttempts: 1 };

let server: S3Server;
let s3: S3;

beforeAll(async () => {
  server = await startS3Server({ publicPrefixes: ['public/'], minPartBytes: PART });
  s3 = await openS3(server.config(), options);
});
afterAll(async () => {
  s3.client.destroy();
  await server.close();
});

const put = (key: string, body: Buffer, client = s3) =>
  client.client.send(new client.sdk.PutObjectCommand({ Bucket: server.bucket, Key: key, Body: body, ContentMD5: contentMd5(body) }));

async function createUpload(key: string): Promise<string> {
  const created = await s3.client.send(
    new s3.sdk.CreateMultipartUploadCommand({ Bucket: server.bucket, Key: key, ContentType: 'video/mp4' }),
  );
  return created.UploadId ?? '';
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
  const answer = await s3.client.send(
    new s3.sdk.UploadPartCommand({
      Bucket: server.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentMD5: contentMd5(body),
    }),
  );
  return answer.ETag ?? '';
}

const complete = (key: string, uploadId: string, parts: { PartNumber: number; ETag: string }[]) =>
  s3.client.send(
    new s3.sdk.CompleteMultipartUploadCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
  );

const listUploads = async () => (await s3.client.send(new s3.sdk.ListMultipartUploadsCommand({ Bucket: server.bucket }))).Uploads ?? [];

describe('objects', () => {
  it('stores a photo with its Content-MD5 and gives the same bytes back', async () => {
    const photo = randomBytes(200_000);
    await s3.client.send(
      new s3.sdk.PutObjectCommand({
        Bucket: server.bucket,
        Key: 'e1/photo.jpg',
        Body: photo,
        ContentMD5: contentMd5(photo),
        ContentType: 'image/jpeg',
      }),
    );
    const got = await s3.client.send(new s3.sdk.GetObjectCommand({ Bucket: server.bucket, Key: 'e1/photo.jpg' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(photo)).toBe(true);
    expect(got.ContentType).toBe('image/jpeg');
    expect((await server.readObject('e1/photo.jpg'))?.equals(photo)).toBe(true);
    expect(server.count('PutObject')).toBe(1);
  });

  it('checks the signature of a ranged GET and of a key with spaces and accents', async () => {
    const key = 'e1/Café photo (1).jpg';
    const photo = randomBytes(1000);
    await put(key, photo);
    const got = await s3.client.send(new s3.sdk.GetObjectCommand({ Bucket: server.bucket, Key: key, Range: 'bytes=0-9' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(photo.subarray(0, 10))).toBe(true);
    expect(server.requests.at(-1)?.headers.authorization).toContain('range');
  });

  it('refuses a body that does not match its Content-MD5 (BadDigest) and keeps nothing', async () => {
    const body = randomBytes(1000);
    const wrong = contentMd5(randomBytes(1000));
    const sent = s3.client.send(new s3.sdk.PutObjectCommand({ Bucket: server.bucket, Key: 'e1/bad.jpg', Body: body, ContentMD5: wrong }));
    await expect(sent).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    expect(await server.readObject('e1/bad.jpg')).toBeNull();
  });
});

describe('checksums', () => {
  const checksumHeaders = (since: number) =>
    server.requests
      .slice(since)
      .flatMap((r) => Object.keys(r.headers))
      .filter((name) => name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm' || name === 'x-amz-trailer');

  it('sends Content-MD5 and the signed SHA-256 of the payload, and no CRC32 header', async () => {
    const since = server.requests.length;
    // Over 2 MiB, where the SDK would otherwise ask for `Expect: 100-continue`.
    const body = randomBytes(2.5 * 1024 * 1024);
    await put('e1/checked.jpg', body);
    const uploadId = await createUpload('e1/checked.mp4');
    await uploadPart('e1/checked.mp4', uploadId, 1, body);
    await s3.client.send(new s3.sdk.AbortMultipartUploadCommand({ Bucket: server.bucket, Key: 'e1/checked.mp4', UploadId: uploadId }));
    expect(checksumHeaders(since)).toEqual([]);
    for (const sent of server.requests.slice(since).filter((r) => r.operation === 'PutObject' || r.operation === 'UploadPart')) {
      expect(sent.headers['content-md5']).toBe(contentMd5(body));
      expect(sent.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
      expect(sent.headers.expect).toBeUndefined();
    }
  });

  it('would send CRC32 with the SDK left at its defaults', async () => {
    const since = server.requests.length;
    const plain = new s3.sdk.S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      requestHandler: { httpsAgent: new Agent({ ca: server.certificate.cert }) },
    });
    try {
      await plain.send(new s3.sdk.PutObjectCommand({ Bucket: server.bucket, Key: 'e1/crc.jpg', Body: randomBytes(100) }));
    } finally {
      plain.destroy();
    }
    expect(checksumHeaders(since)).toContain('x-amz-checksum-crc32');
  });
});

describe('multipart', () => {
  it('uploads parts, lists them a page at a time, and completes into one object', async () => {
    const key = 'e1/video.mp4';
    const parts = [randomBytes(PART), randomBytes(PART), randomBytes(1000)];
    const uploadId = await createUpload(key);
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) etags.push(await uploadPart(key, uploadId, index + 1, part));

    const first = await s3.client.send(new s3.sdk.ListPartsCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId, MaxParts: 2 }));
    expect(first.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, etags[0], PART],
      [2, etags[1], PART],
    ]);
    expect(first.IsTruncated).toBe(true);
    const rest = await s3.client.send(
      new s3.sdk.ListPartsCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId, PartNumberMarker: first.NextPartNumberMarker }),
    );
    expect(rest.Parts?.map((p) => p.PartNumber)).toEqual([3]);
    expect(rest.IsTruncated).toBe(false);
    expect((await listUploads()).filter((u) => u.UploadId === uploadId).map((u) => u.Key)).toEqual([key]);
    expect(server.incompleteUploads()).toEqual([{ key, uploadId, parts: [1, 2, 3] }]);

    await complete(
      key,
      uploadId,
      etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })),
    );
    expect((await server.readObject(key))?.equals(Buffer.concat(parts))).toBe(true);
    expect((await s3.client.send(new s3.sdk.HeadObjectCommand({ Bucket: server.bucket, Key: key }))).ContentType).toBe('video/mp4');
    expect(await listUploads()).toEqual([]);
    expect(server.incompleteUploads()).toEqual([]);
    expect(server.count('UploadPart', 2)).toBe(1);
  });

  it('leaves nothing behind an abort', async () => {
    const key = 'e1/abandoned.mp4';
    const uploadId = await createUpload(key);
    await uploadPart(key, uploadId, 1, randomBytes(PART));
    expect(server.incompleteUploads()).toHaveLength(1);
    await s3.client.send(new s3.sdk.AbortMultipartUploadCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId }));

    expect(server.incompleteUploads()).toEqual([]);
    expect(await listUploads()).toEqual([]);
    const noSuchUpload = { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } };
    await expect(
      s3.client.send(new s3.sdk.ListPartsCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId })),
    ).rejects.toMatchObject(noSuchUpload);
    await expect(uploadPart(key, uploadId, 2, randomBytes(10))).rejects.toMatchObject(noSuchUpload);
    await expect(complete(key, uploadId, [{ PartNumber: 1, ETag: 'x' }])).rejects.toMatchObject(noSuchUpload);
    expect(server.incompleteUploads()).toEqual([]);
    expect(await server.readObject(key)).toBeNull();
  });

  it('refuses a completion that AWS or R2 would refuse', async () => {
    const key = 'e1/refused.mp4';
    const uploadId = await createUpload(key);
    const small = await uploadPart(key, uploadId, 1, randomBytes(1000));
    const full = await uploadPart(key, uploadId, 2, randomBytes(PART));
    const longer = await uploadPart(key, uploadId, 3, randomBytes(PART + 1));
    const last = await uploadPart(key, uploadId, 4, randomBytes(10));
    const refusal = (name: string) => ({ name, $metadata: { httpStatusCode: 400 } });

    await expect(complete(key, uploadId, [{ PartNumber: 2, ETag: '"0123"' }])).rejects.toMatchObject(refusal('InvalidPart'));
    await expect(
      complete(key, uploadId, [
        { PartNumber: 4, ETag: last },
        { PartNumber: 2, ETag: full },
      ]),
    ).rejects.toMatchObject(refusal('InvalidPartOrder'));
    await expect(
      complete(key, uploadId, [
        { PartNumber: 1, ETag: small },
        { PartNumber: 4, ETag: last },
      ]),
    ).rejects.toMatchObject(refusal('EntityTooSmall'));
    await expect(
      complete(key, uploadId, [
        { PartNumber: 2, ETag: full },
        { PartNumber: 3, ETag: longer },
        { PartNumber: 4, ETag: last },
      ]),
    ).rejects.toMatchObject(refusal('InvalidPart'));
    expect(server.incompleteUploads().map((u) => u.parts)).toEqual([[1, 2, 3, 4]]);
    await s3.client.send(new s3.sdk.AbortMultipartUploadCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId }));
  });
});

describe('signatures', () => {
  it('refuses a wrong secret (SignatureDoesNotMatch) and an unknown key id (InvalidAccessKeyId)', async () => {
    const wrongSecret = await openS3(server.config({ secretAccessKey: 'not-the-secret' }), options);
    const wrongKey = await openS3(server.config({ accessKeyId: 'AKIAUNKNOWN000000000' }), options);
    try {
      const body = randomBytes(10);
      await expect(put('e1/denied.jpg', body, wrongSecret)).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
        $metadata: { httpStatusCode: 403 },
      });
      await expect(put('e1/denied.jpg', body, wrongKey)).rejects.toMatchObject({
        name: 'InvalidAccessKeyId',
        $metadata: { httpStatusCode: 403 },
      });
      expect(await server.readObject('e1/denied.jpg')).toBeNull();
    } finally {
      wrongSecret.client.destroy();
      wrongKey.client.destroy();
    }
  });

  it('refuses a request from a clock 20 minutes slow (RequestTimeTooSkewed), and the client then corrects its clock', async () => {
    const skewed = await openS3(server.config(), options);
    skewed.client.config.systemClockOffset = -20 * 60_000;
    try {
      await expect(put('e1/late.jpg', randomBytes(10), skewed)).rejects.toMatchObject({
        name: 'RequestTimeTooSkewed',
        $metadata: { httpStatusCode: 403 },
      });
      await put('e1/late.jpg', randomBytes(10), skewed);
      expect(await server.readObject('e1/late.jpg')).not.toBeNull();
    } finally {
      skewed.client.destroy();
    }
  });

  it('serves a presigned GET until it expires, and only for the key it was signed for', async () => {
    await put('e1/shared.jpg', Buffer.from('shared photo'));
    const url = await getSignedUrl(s3.client, new s3.sdk.GetObjectCommand({ Bucket: server.bucket, Key: 'e1/shared.jpg' }), {
      expiresIn: 600,
    });
    const opened = await server.open(url);
    expect(opened.status).toBe(200);
    expect(opened.body.toString()).toBe('shared photo');

    const other = await server.open(url.replace('e1/shared.jpg', 'e1/photo.jpg'));
    expect(other.status).toBe(403);
    expect(other.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');

    const signedLongAgo = await getSignedUrl(s3.client, new s3.sdk.GetObjectCommand({ Bucket: server.bucket, Key: 'e1/shared.jpg' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const expired = await server.open(signedLongAgo);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('<Message>Request has expired</Message>');
  });

  it('lets a guest open a public key without signing, and nothing else', async () => {
    await put('public/e1/guest.jpg', Buffer.from('guest photo'));
    const opened = await server.open(server.objectUrl('public/e1/guest.jpg'));
    expect(opened.status).toBe(200);
    expect(opened.body.toString()).toBe('guest photo');

    const closed = await server.open(server.objectUrl('e1/shared.jpg'));
    expect(closed.status).toBe(403);
    expect(closed.body.toString()).toContain('<Code>AccessDenied</Code>');
  });
});

describe('test controls', () => {
  it('goes down as told and comes back by itself', async () => {
    const body = randomBytes(10);
    await server.down('refuse', 300);
    // A fresh client: one with a kept-alive connection would see that connection reset first.
    const fresh = await openS3(server.config(), options);
    try {
      await expect(put('e1/outage.jpg', body, fresh)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await new Promise((resolve) => setTimeout(resolve, 400));
      await put('e1/outage.jpg', body, fresh);
    } finally {
      fresh.client.destroy();
    }

    await server.down('SlowDown');
    await expect(put('e1/outage.jpg', body)).rejects.toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await server.down('ServiceUnavailable');
    await expect(put('e1/outage.jpg', body)).rejects.toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    await server.up();
    await put('e1/outage.jpg', body);
    expect(server.requests.filter((r) => r.key === 'e1/outage.jpg').map((r) => r.status)).toEqual([200, 503, 503, 200]);
  });

  it('hangs, and the client gives up after its idle timeout', async () => {
    const impatient = await openS3(server.config(), { ...options, idleTimeoutMs: 300 });
    try {
      await server.down('hang');
      const started = Date.now();
      await expect(put('e1/hung.jpg', randomBytes(10), impatient)).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await server.up();
      impatient.client.destroy();
    }
  });
});

describe("the SDK's notice that it will need Node 22", () => {
  const run = promisify(execFile);
  const script = (entry: string) =>
    `const m = await import(${JSON.stringify(entry)});` +
    `const c = m.openS3 ? (await m.openS3({ endpoint: 'https://127.0.0.1:9', region: 'auto', bucket: 'b', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b', ca: null }, { connectTimeoutMs: 1, idleTimeoutMs: 1, maxAttempts: 1 })).client` +
    ` : new m.S3Client({ region: 'auto', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });` +
    `c.destroy();`;
  const stderrOf = async (entry: string) => {
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    return (await run(process.execPath, ['--input-type=module', '-e', script(entry)], { env, timeout: 20_000 })).stderr;
  };

  it('prints no warning about Node 22 when the agent opens its client', async () => {
    const warned = await stderrOf(fileURLToPath(import.meta.resolve('@aws-sdk/client-s3')));
    expect(warned.includes('NodeVersionSupportWarning')).toBe(Number(process.versions.node.split('.')[0]) < 22);
    expect(await stderrOf(fileURLToPath(new URL('../../dist/storage/s3-client.js', import.meta.url)))).toBe('');
  });
});
