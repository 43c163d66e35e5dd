// Taking an erased guest's file out of the organiser's storage: every multipart upload still
// open under its key is aborted (the one recorded, and any begun whose id was never recorded,
// as when a cut came between CreateMultipartUpload and the record), then the object deleted,
// and the session's page and preview with it. Each step is idempotent (deleting what is not
// there succeeds), so a deletion cut short is simply carried out again. The first step also
// follows each multipart upload the uploader completes.
import type { OwedDeletion } from '../store/media.js';
import type { S3 } from './s3-client.js';

/** Deletes the file from the storage; throws the SDK's error when the storage cannot be reached or refuses. */
export async function deleteStoredFile(s3: S3, bucket: string, file: OwedDeletion, signal?: AbortSignal): Promise<void> {
  await abortOpenUploads(s3, bucket, file, signal);
  for (const key of [file.key, file.pageKey, file.previewKey]) {
    if (key !== null)
      await s3.client.send(new s3.sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }), signal ? { abortSignal: signal } : {});
  }
}

/**
 * Aborts every multipart upload open under the file's key: the one recorded, if any, and those
 * the storage lists. After a file's upload is complete, what is listed was begun by a try cut
 * short before it could record the upload's id, and would otherwise be kept, and paid for.
 */
export async function abortOpenUploads(
  s3: S3,
  bucket: string,
  file: Pick<OwedDeletion, 'key' | 'uploadId'>,
  signal?: AbortSignal,
): Promise<void> {
  const options = signal ? { abortSignal: signal } : {};
  const target = { Bucket: bucket, Key: file.key };
  const open = new Set(file.uploadId === null ? [] : [file.uploadId]);
  const listed = await s3.client.send(new s3.sdk.ListMultipartUploadsCommand({ Bucket: bucket, Prefix: file.key }), options);
  for (const upload of listed.Uploads ?? []) if (upload.Key === file.key && upload.UploadId) open.add(upload.UploadId);
  for (const uploadId of open) {
    await s3.client.send(new s3.sdk.AbortMultipartUploadCommand({ ...target, UploadId: uploadId }), options).catch((error: unknown) => {
      // Already completed or aborted: nothing is left open under this id.
      if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
    });
  }
}
