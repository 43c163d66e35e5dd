// A session's file (issue "A session's photo travels with it"): the capture of a photo by path,
// the upload of a large file, the memory an upload adds, and the webhooks of leads captured
// while a throttled upload runs; and its page (issue "The guest's page"): how soon after the
// capture the page can be read, and the memory previews take one after another. Each against
// a baseline measured in the same run. The storage
// is s3rver (the tests' S3 service, without their SigV4 front) over HTTP on 127.0.0.1, in this
// process; each measured side runs in a fresh process of its own. Writes its part of BENCHMARKS.md.
//
// `node bench/media.mjs <part>…` (photo, upload, memory, page, previews, leads) runs only those parts and
// rewrites only their rows of the table.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Figures, writePart, writeRows } from './report.mjs';
import {
  inFreshProcess,
  loopbackCertificate,
  percentile,
  postEvent,
  spawnBoothAgent,
  spawnHookReceiver,
  temp,
  until,
} from './loopback-tls.mjs';
import { prepareOutbox } from './outbox.mjs';

const MiB = 1024 * 1024;
const UPLOAD_MIB = 256;
const RSS_MIB = 1024;
const PHOTO_BYTES = 12 * 1000 * 1000;
/** The photo row alternates its two sides in ROUNDS fresh processes each, CAPTURES / ROUNDS captures a process. */
const CAPTURES = 15;
const ROUNDS = 3;
/** The lead rows: a 64 MiB video uploaded at 16 Mbit/s (about 33 s) while 200 leads come, one every 50 ms. */
const CLIP_MIB = 64;
const THROTTLE_KBPS = 16_000;
const LEADS = 200;
const LEAD_GAP_MS = 50;
const BUCKET = 'bench';
/** The page rows: a 12 MB still captured and put up this many times, page on and page off, in turn. */
const PAGE_ROUNDS = 7;
/** Previews made one after another for the memory row, from a few stills in turn (sharp's cache is off: each is read again). */
const PREVIEWS = 200;
const PARTS = ['photo', 'upload', 'memory', 'page', 'previews', 'leads'];
// A measured side runs as `media.mjs child <mode> …`; anything else names the parts to run.
const [mode, ...args] = process.argv[2] === 'child' ? process.argv.slice(3) : [null];
const chosen = mode === null ? process.argv.slice(2) : [];
for (const part of chosen) if (!PARTS.includes(part)) throw new Error(`no part "${part}": choose from ${PARTS.join(', ')}`);
const runs = (part) => chosen.length === 0 || chosen.includes(part);

/** The storage as the agent reads it: s3rver's own credentials, the bucket in the path, public links. */
const storageOf = (endpoint) => ({
  url: endpoint,
  region: 'us-east-1',
  bucket: BUCKET,
  prefix: 'booths/',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  publicUrl: `${endpoint}/${BUCKET}`,
  pathStyle: true,
  ca: null,
});

/**
 * Runs `work` while sampling this process's RSS; answers the time taken, the CPU this
 * process used meanwhile (every thread, libuv's pool included) and the RSS it added at its peak.
 */
async function measure(work) {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, addedMb: (peak - before) / MiB };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The agent's own pieces over a data folder: its outbox, the capture `emit` uses, and the upload lane. */
async function agentPieces(dataDir, endpoint) {
  const { default: pino } = await import('pino');
  const { openStore } = await import('../dist/store/store.js');
  const { mediaCaptureOf } = await import('../dist/media/capture.js');
  const { storageConfig } = await import('../dist/storage/config.js');
  const store = openStore(join(dataDir, 'outbox.db'));
  store.storage.set(storageOf(endpoint), Date.now());
  const log = pino({ level: 'silent' });
  const storage = () => storageConfig(store);
  const media = mediaCaptureOf(store, join(dataDir, 'media'), {
    storage,
    commit: (event, now, window) => store.queue.capture(event, now, window),
    diskLow: () => {},
    log,
  });
  const capture = async (id, file) => {
    const body = Buffer.from(JSON.stringify({ type: 'session', event_id: 1, session: { id, type: 'still', file } }));
    const result = await media.capture(body, {}, store.settings.read(), Date.now());
    if (result.kind !== 'accepted') throw new Error(`capture of ${file}: ${JSON.stringify(result)}`);
    return result.links;
  };
  return { store, storage, log, capture };
}

// The photo row's sides each make one untimed run first (i = -1) in each process: the agent
// captures in a process that has been running, so neither side is timed running its code
// for the first time.
if (mode === 'capture') {
  // A 12 MB photo captured by path, `count` times, each a session of its own.
  const [dataDir, endpoint, photo, round, count] = args;
  const { store, capture } = await agentPieces(dataDir, endpoint);
  const runs = [];
  for (let i = -1; i < Number(count); i++) {
    const run = await measure(() => capture(`c-${round}-${i}`, photo));
    if (i >= 0) runs.push(run);
  }
  store.close();
  process.stdout.write(JSON.stringify({ runs }));
} else if (mode === 'copy' || mode === 'copy-hash') {
  // The same file copied and synced alone, with the folder that holds the copy synced; with
  // copy-hash also read back and hashed (SHA-256), the straightforward way, as the capture
  // must record the hash of what it keeps before it answers.
  const [dir, photo, round, count] = args;
  const runs = [];
  for (let i = -1; i < Number(count); i++) {
    const folder = join(dir, `${round}-${i}`);
    mkdirSync(folder);
    const run = await measure(() => {
      const target = join(folder, 'photo.jpg');
      copyFileSync(photo, target);
      if (mode === 'copy-hash') createHash('sha256').update(readFileSync(target)).digest('hex');
      for (const path of [target, folder]) {
        const fd = openSync(path, 'r');
        fsyncSync(fd);
        closeSync(fd);
      }
    });
    if (i >= 0) runs.push(run);
  }
  process.stdout.write(JSON.stringify({ runs }));
} else if (mode === 'upload') {
  // The file captured, then the upload lane run until it is in.
  const [dataDir, endpoint, file] = args;
  const { Uploader } = await import('../dist/media/uploader.js');
  const { store, storage, log, capture } = await agentPieces(dataDir, endpoint);
  await capture('u-1', file);
  let uploader;
  const run = await measure(
    () =>
      new Promise((resolve) => {
        uploader = new Uploader({ media: store.media, storage, settings: () => store.settings.read(), log, released: resolve });
        uploader.start();
      }),
  );
  await uploader.stop();
  const failed = store.db.prepare(`SELECT count(*) FROM media WHERE status <> 'uploaded'`).pluck().get();
  store.close();
  if (failed !== 0) throw new Error('the upload did not finish');
  process.stdout.write(JSON.stringify(run));
} else if (mode === 'page') {
  // A 12 MB still captured, then the upload lane run until its webhooks are released, then
  // its site_url read: with guest_page on, the page (after the file, the preview and the
  // page go up); off, the file itself. PAGE_ROUNDS sessions, one at a time.
  const [dataDir, endpoint, photo, guestPage] = args;
  const { Uploader } = await import('../dist/media/uploader.js');
  const { store, storage, log, capture } = await agentPieces(dataDir, endpoint);
  store.settings.write('guest_page', guestPage === 'on');
  let released = () => {};
  const uploader = new Uploader({ media: store.media, storage, settings: () => store.settings.read(), log, released: () => released() });
  uploader.start();
  const times = [];
  for (let i = 0; i < PAGE_ROUNDS; i++) {
    const done = new Promise((resolve) => (released = resolve));
    const started = performance.now();
    const links = await capture(`p-${i}`, photo);
    uploader.wake();
    await done;
    const read = await fetch(links.siteUrl);
    await read.arrayBuffer();
    if (read.status !== 200 || (guestPage === 'on') !== read.headers.get('content-type')?.startsWith('text/html')) {
      throw new Error(`${links.siteUrl} answered ${read.status} ${read.headers.get('content-type')}`);
    }
    times.push(performance.now() - started);
  }
  await uploader.stop();
  store.close();
  process.stdout.write(JSON.stringify({ ms: median(times) }));
} else if (mode === 'previews') {
  // PREVIEWS previews in a row, from the stills given in turn; RSS before the first (sharp not
  // loaded yet: the agent loads it for its first page) and after each.
  const stills = args;
  const { makePreview } = await import('../dist/guest/preview.js');
  const idle = process.memoryUsage.rss();
  const after = [];
  const times = [];
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  for (let i = 0; i < PREVIEWS; i++) {
    const started = performance.now();
    await makePreview(stills[i % stills.length]);
    times.push(performance.now() - started);
    after.push(process.memoryUsage.rss());
  }
  clearInterval(sampler);
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  process.stdout.write(
    JSON.stringify({
      idleMb: idle / MiB,
      peakAddedMb: (Math.max(peak, ...after) - idle) / MiB,
      // After the first 20 (sharp and libvips warmed up) against the last 20.
      earlyMb: (mean(after.slice(20, 40)) - idle) / MiB,
      lateMb: (mean(after.slice(-20)) - idle) / MiB,
      ms: median(times),
    }),
  );
} else if (mode === 'sdk-upload') {
  // The same client (openS3: the same SDK, agent and settings) sending the same file as a
  // multipart upload on its own: the same 8 MiB parts, one at a time, as the upload lane does.
  const [endpoint, file, key] = args;
  const { openS3 } = await import('../dist/storage/s3-client.js');
  const { PART_BYTES } = await import('../dist/media/uploader.js');
  const { client, sdk } = await openS3(
    { endpoint, region: 'us-east-1', bucket: BUCKET, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', ca: null },
    { connectTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxAttempts: 1 },
  );
  const target = { Bucket: BUCKET, Key: key };
  const run = await measure(async () => {
    const handle = await open(file, 'r');
    const { size } = await handle.stat();
    const { UploadId } = await client.send(new sdk.CreateMultipartUploadCommand({ ...target, ContentType: 'video/mp4' }));
    const parts = [];
    for (let offset = 0, n = 1; offset < size; offset += PART_BYTES, n++) {
      const body = Buffer.allocUnsafe(Math.min(PART_BYTES, size - offset));
      await handle.read(body, 0, body.length, offset);
      const sent = await client.send(
        new sdk.UploadPartCommand({ ...target, UploadId, PartNumber: n, Body: body, ContentLength: body.length }),
      );
      parts.push({ PartNumber: n, ETag: sent.ETag });
    }
    await handle.close();
    await client.send(new sdk.CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: parts } }));
  });
  client.destroy();
  process.stdout.write(JSON.stringify(run));
} else if (mode !== null) {
  throw new Error(`no child mode "${mode}"`);
} else {
  const { default: S3rver } = await import('s3rver');
  const dir = temp('media');
  mkdirSync(join(dir, 's3'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
  const child = (args) => inFreshProcess(import.meta.url, ['child', ...args]);
  /** A fresh data folder that takes media from `roots`, with no disk margin to keep. */
  const dataDirFor = async (name, roots) => {
    const { openStore } = await import('../dist/store/store.js');
    const dataDir = join(dir, name);
    mkdirSync(dataDir);
    const store = openStore(join(dataDir, 'outbox.db'));
    store.settings.write('media_roots', roots);
    store.settings.write('media_min_free_mb', 0);
    store.settings.write('media_max_mb', 4096);
    store.close();
    return dataDir;
  };
  const output = join(dir, 'output');
  mkdirSync(output);
  const figures = new Figures();

  // 1. A 12 MB photo by path: copy, fsync, commit, against the copy and fsync alone.
  if (runs('photo')) {
    const photo = join(output, 'photo.jpg');
    writeFileSync(photo, randomBytes(PHOTO_BYTES));
    const copies = join(dir, 'copies');
    mkdirSync(copies);
    const captureDir = await dataDirFor('capture', [output]);
    // The sides take turns, so a machine that gets busier or quieter during the row weighs on both alike.
    const copyRuns = [];
    const hashRuns = [];
    const captureRuns = [];
    for (let round = 0; round < ROUNDS; round++) {
      const count = String(CAPTURES / ROUNDS);
      copyRuns.push(...(await child(['copy', copies, photo, String(round), count])).runs);
      hashRuns.push(...(await child(['copy-hash', copies, photo, `h${round}`, count])).runs);
      captureRuns.push(...(await child(['capture', captureDir, endpoint, photo, String(round), count])).runs);
    }
    // The CPU beside the time: on a busy machine a side can go no faster than its CPU allows.
    const medians = (runs) => ({ ms: median(runs.map((r) => r.ms)), cpuMs: median(runs.map((r) => r.cpuMs)) });
    const copy = medians(copyRuns);
    const hashed = medians(hashRuns);
    const capture = medians(captureRuns);
    const captureRatio = copy.ms / capture.ms;
    figures.record(
      `capture of a session with a 12 MB photo by path (median of ${CAPTURES})`,
      `${capture.ms.toFixed(1)} ms (${capture.cpuMs.toFixed(1)} ms of CPU)`,
      `the file copied and fsynced alone: ${copy.ms.toFixed(1)} ms (${copy.cpuMs.toFixed(1)} ms of CPU); ` +
        `also hashed (SHA-256), as the capture must: ${hashed.ms.toFixed(1)} ms (${hashed.cpuMs.toFixed(1)} ms of CPU)`,
      `${captureRatio.toFixed(2)} × the copy's speed (${(hashed.ms / capture.ms).toFixed(2)} × the copy and hash's)`,
      '≥ 0.8 ×',
      captureRatio >= 0.8,
    );
  }

  // 2. A 256 MiB file to the local storage, against the same client's multipart upload of it.
  if (runs('upload')) {
    const big = join(output, 'big.mp4');
    writeFileSync(big, randomBytes(UPLOAD_MIB * MiB));
    const sdkUpload = await child(['sdk-upload', endpoint, big, 'baseline/big.mp4']);
    const agentUpload = await child(['upload', await dataDirFor('upload', [output]), endpoint, big]);
    const rate = (run) => UPLOAD_MIB / (run.ms / 1000);
    const uploadRatio = rate(agentUpload) / rate(sdkUpload);
    figures.record(
      `upload of a ${UPLOAD_MIB} MiB file to the local storage (8 MiB parts, one at a time)`,
      `${rate(agentUpload).toFixed(0)} MiB/s (${(agentUpload.ms / 1000).toFixed(1)} s)`,
      `the same SDK client's multipart upload of it: ${rate(sdkUpload).toFixed(0)} MiB/s (${(sdkUpload.ms / 1000).toFixed(1)} s)`,
      `${uploadRatio.toFixed(2)} ×`,
      '≥ 0.8 ×',
      uploadRatio >= 0.8,
    );
    rmSync(big);
    // The stored copies go before the next row, so the disk holds one large file's worth at a time.
    for (const folder of ['baseline', 'booths']) rmSync(join(dir, 's3', BUCKET, folder), { recursive: true, force: true });
  }

  // 3. The RSS the upload lane adds to its process while it uploads a large file.
  if (runs('memory')) {
    const large = join(output, 'large.mp4');
    writeFileSync(large, randomBytes(RSS_MIB * MiB));
    const sdkLarge = await child(['sdk-upload', endpoint, large, 'baseline/large.mp4']);
    const agentLarge = await child(['upload', await dataDirFor('rss', [output]), endpoint, large]);
    figures.record(
      'RSS added while uploading a 1 GiB file',
      `+${agentLarge.addedMb.toFixed(0)} MB (${(agentLarge.ms / 1000).toFixed(1)} s)`,
      `the same SDK client's multipart upload of it: +${sdkLarge.addedMb.toFixed(0)} MB`,
      '—',
      '≤ +64 MB',
      agentLarge.addedMb <= 64,
    );
    rmSync(large);
  }

  // 4. A 12 MB still's page readable after its capture, against its file alone in the same lane;
  // 5. the RSS of previews made one after another, over the process before the first.
  if (runs('page') || runs('previews')) {
    const { default: sharp } = await import('sharp');
    /** A still as a camera makes it: a JPEG of `width` × `height` px, full of detail (noise, which shrinks least). */
    const still = async (name, width, height, format = 'jpeg') => {
      const path = join(output, name);
      const image = sharp({
        create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } },
      });
      writeFileSync(path, await (format === 'png' ? image.png() : image.jpeg({ quality: 92 })).toBuffer());
      return path;
    };
    const twelve = await still('still.jpg', 5400, 3600);
    const stillMb = statSync(twelve).size / 1e6;
    if (runs('page')) {
      const pageOff = await child(['page', await dataDirFor('page-off', [output]), endpoint, twelve, 'off']);
      const pageOn = await child(['page', await dataDirFor('page-on', [output]), endpoint, twelve, 'on']);
      const pageExtra = pageOn.ms - pageOff.ms;
      figures.record(
        `a session's page readable, from the capture of a ${stillMb.toFixed(1)} MB still (median of ${PAGE_ROUNDS})`,
        `${pageOn.ms.toFixed(0)} ms`,
        `its file alone, captured, uploaded and read: ${pageOff.ms.toFixed(0)} ms`,
        `${pageExtra >= 0 ? '+' : '-'}${Math.abs(pageExtra).toFixed(0)} ms (${(pageOn.ms / pageOff.ms).toFixed(2)} ×)`,
        '≤ upload + 300 ms',
        pageExtra <= 300,
      );
    }
    if (runs('previews')) {
      const stills = [
        twelve,
        await still('portrait.jpg', 3000, 4500),
        await still('small.jpg', 1800, 1200),
        await still('scan.png', 2400, 1600, 'png'),
      ];
      const previews = await child(['previews', ...stills]);
      const growth = previews.lateMb - previews.earlyMb;
      figures.record(
        `RSS while making ${PREVIEWS} previews in a row (4 stills in turn, up to ${stillMb.toFixed(1)} MB)`,
        `peak +${previews.peakAddedMb.toFixed(0)} MB; previews 21–40 +${previews.earlyMb.toFixed(0)} MB, 181–200 +${previews.lateMb.toFixed(0)} MB (${previews.ms.toFixed(0)} ms each)`,
        `the process before the first: ${previews.idleMb.toFixed(0)} MB`,
        `${growth >= 0 ? '+' : '-'}${Math.abs(growth).toFixed(1)} MB from the 21st to the last`,
        '≤ +100 MB, not growing (≤ +10 MB)',
        previews.peakAddedMb <= 100 && growth <= 10,
      );
      for (const path of stills.slice(1)) rmSync(path);
    }
    rmSync(twelve);
  }

  // 6. Leads' webhooks while a throttled upload runs, against the same leads with none.
  if (runs('leads')) {
    const certDir = await loopbackCertificate();
    const receiver = await spawnHookReceiver(certDir);
    const clip = join(output, 'clip.mp4');
    writeFileSync(clip, randomBytes(CLIP_MIB * MiB));
    const leads = async (name, withUpload) => {
      const dataDir = join(dir, name);
      mkdirSync(dataDir);
      const settings = { media_roots: [output], media_min_free_mb: 0, upload_max_kbps: THROTTLE_KBPS };
      const token = prepareOutbox(dataDir, `https://127.0.0.1:${receiver.port}/hook`, { settings });
      const { openStore } = await import('../dist/store/store.js');
      const setup = openStore(join(dataDir, 'outbox.db'));
      setup.storage.set(storageOf(endpoint), Date.now());
      setup.close();
      const agent = await spawnBoothAgent(dataDir, certDir);
      const uploading = () => {
        const store = openStore(join(dataDir, 'outbox.db'));
        const status = store.db.prepare(`SELECT status FROM media`).pluck().get();
        store.close();
        return status === 'uploading';
      };
      if (withUpload) {
        const video = JSON.stringify({ type: 'session', event_id: 1, session: { id: 'clip', type: 'video', file: clip } });
        if ((await postEvent(agent.port, token, video)) !== 202) throw new Error('the video was not captured');
        await until(uploading, 10_000);
      }
      const latencies = [];
      try {
        for (let i = 0; i < LEADS; i++) {
          const lead = JSON.stringify({
            type: 'share',
            event_id: 1,
            session: { id: `lead-${i}`, direct_url: 'https://cdn.example.com/a.jpg', site_url: 'https://cdn.example.com/a', type: 'still' },
            share: { id: `share-${i}`, type: 'email', value: `guest${i}@example.com` },
            data_capture: {
              sections: [
                {
                  title: 'Contact',
                  position: 0,
                  fields: [
                    { field_id: 'email_1', field_title: 'Email', field_type: 'email', value: `guest${i}@example.com`, required: true },
                  ],
                },
              ],
            },
          });
          const before = await receiver.count();
          const started = performance.now();
          if ((await postEvent(agent.port, token, lead)) !== 202) throw new Error('a lead was not captured');
          await until(async () => (await receiver.count()) > before, 10_000, 0);
          latencies.push(performance.now() - started);
          await new Promise((resolve) => setTimeout(resolve, LEAD_GAP_MS));
        }
        // Every lead must have come while the upload ran, or the row would not measure what it says.
        if (withUpload && !uploading()) throw new Error('the upload finished before the last lead: make the clip larger');
      } finally {
        await agent.stop();
      }
      return latencies;
    };
    let quiet, busy;
    try {
      quiet = await leads('leads-quiet', false);
      busy = await leads('leads-upload', true);
    } finally {
      receiver.stop();
    }
    const quiet99 = percentile(quiet, 99);
    const busy99 = percentile(busy, 99);
    figures.record(
      `webhook latency p99 of ${LEADS} leads, one every ${LEAD_GAP_MS} ms, while a ${CLIP_MIB} MiB upload runs at upload_max_kbps ${THROTTLE_KBPS.toLocaleString('en')}`,
      `${busy99.toFixed(1)} ms (p50 ${percentile(busy, 50).toFixed(1)} ms)`,
      `the same leads with no upload: ${quiet99.toFixed(1)} ms (p50 ${percentile(quiet, 50).toFixed(1)} ms)`,
      `${busy99 >= quiet99 ? '+' : '-'}${Math.abs(busy99 - quiet99).toFixed(1)} ms`,
      '≤ baseline + 50 ms',
      busy99 <= quiet99 + 50,
    );
  }

  await s3.close();
  rmSync(dir, { recursive: true, force: true });
  const table = figures.table();
  console.log(`\n${table}`);
  if (chosen.length > 0) writeRows(figures);
  else
    writePart(
      '<!-- media -->',
      [
        "## A session's file",
        '',
        "Measured by bench/media.mjs against s3rver over HTTP on 127.0.0.1 (the tests' S3 service without its SigV4 front), in the bench's own process. The first three rows run each measured side in a fresh process of its own (the photo row in " +
          `${ROUNDS} rounds, the copy and the capture taking turns, ${CAPTURES / ROUNDS} files a process, each side's CPU beside its time: every thread of its process; one untimed run first in each), ` +
          "through the built agent's modules (the capture that `booth-agent emit` and the JSON API share, and the upload lane); RSS added is the peak during the upload over the process just before it, so it includes loading the SDK. The lead row runs `booth-agent run` with an HTTPS receiver in a process of its own; a lead's latency runs from its POST until the receiver has it, and the row checks that the upload was still running after the last lead. The SDK baseline is the SDK's multipart commands driven by hand: the SDK's own helper (@aws-sdk/lib-storage) is not a dependency.",
        '',
        table,
      ].join('\n'),
    );
}
