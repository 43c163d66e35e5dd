import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, rotatingFile } from '../../src/log.js';

const closed = (destination: ReturnType<typeof rotatingFile>) =>
  new Promise<void>((resolve) => {
    destination.once('close', () => resolve());
    destination.end();
  });

describe('log files', () => {
  it('rotate at the size limit, keeping the newest files and every line of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booth-log-'));
    const path = join(dir, 'agent.log');
    const file = rotatingFile(path, 1000, 3);
    const line = (i: number) => `${JSON.stringify({ line: i, pad: 'x'.repeat(80) })}\n`;
    for (let i = 0; i < 60; i++) {
      file.write(line(i));
      // Let some writes land apart, as the agent's do, so rotation happens between them.
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await closed(file);

    expect(readdirSync(dir).sort()).toEqual(['agent.log', 'agent.log.1', 'agent.log.2']);
    const lines = ['agent.log.2', 'agent.log.1', 'agent.log'].flatMap((name) =>
      readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((text) => (JSON.parse(text) as { line: number }).line),
    );
    // The kept files hold the last lines, in order, none torn or lost between them.
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => 60 - lines.length + i));
    expect(lines.length).toBeGreaterThan(10);
    for (const name of ['agent.log.1', 'agent.log.2']) expect(statSync(join(dir, name)).size).toBeGreaterThanOrEqual(1000);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('go on from the size of an existing file after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booth-log-'));
    const path = join(dir, 'agent.log');
    const first = rotatingFile(path, 1000, 2);
    first.write(`${'a'.repeat(900)}\n`);
    await closed(first);
    const second = rotatingFile(path, 1000, 2);
    second.write(`${'b'.repeat(200)}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    second.write('after\n');
    await closed(second);
    expect(readFileSync(join(dir, 'agent.log.1'), 'utf8')).toBe(`${'a'.repeat(900)}\n${'b'.repeat(200)}\n`);
    expect(readFileSync(path, 'utf8')).toBe('after\n');
  });

  it('flush every line on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booth-log-'));
    const logger = createLogger({ logsDir: dir, stdout: false });
    for (let i = 0; i < 500; i++) logger.log.info({ i }, 'attempt');
    await logger.close();
    const lines = readFileSync(join(dir, 'agent.log'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(500);
    expect(JSON.parse(lines[499]!)).toMatchObject({ i: 499, msg: 'attempt' });
  });
});
