// What the benchmarks report, and where. Each figure is printed as it is measured and
// tabled against its same-run baseline. BENCHMARKS.md is written by five scripts, each
// owning one part, in this order: the agent's figures at the top, then the panel's
// (<!-- panel -->), the export's (<!-- export -->), the drains into slow receivers
// (<!-- receivers -->), a session's file (<!-- media -->), and a history kept by hand
// (<!-- history -->). A script rewrites its own part and leaves the others as they are.
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = 'BENCHMARKS.md';
const MARKERS = ['<!-- panel -->', '<!-- export -->', '<!-- receivers -->', '<!-- media -->', '<!-- history -->'];

export class Figures {
  results = [];

  record(figure, measured, baseline, ratio, goal, met) {
    this.results.push({ figure, measured, baseline, ratio, goal, met });
    console.log(`${figure}: ${measured} | baseline ${baseline} | ${ratio} | goal ${goal} ${met ? 'met' : 'MISSED'}`);
  }

  table() {
    return ['| figure | measured | baseline (same run) | ratio | goal | |', '|---|---|---|---|---|---|', ...this.results.map(row)].join(
      '\n',
    );
  }
}

const row = (r) => `| ${r.figure} | ${r.measured} | ${r.baseline} | ${r.ratio} | ${r.goal} | ${r.met ? 'met' : '**missed**'} |`;

/**
 * Replaces the rows of these figures in the top part's table, where a row of the same figure
 * is, for a run of only some of bench/agent.mjs's parts; the other rows are left as they are.
 */
export function writeRows(figures) {
  const lines = readFileSync(FILE, 'utf8').split('\n');
  for (const result of figures.results) {
    const at = lines.findIndex((line) => line.startsWith(`| ${result.figure} |`));
    if (at < 0) throw new Error(`BENCHMARKS.md has no row "${result.figure}": run the whole benchmark to write its table`);
    lines[at] = row(result);
  }
  writeFileSync(FILE, lines.join('\n'));
}

/** Replaces one part of BENCHMARKS.md: `marker` is one of MARKERS, or null for the top part. */
export function writePart(marker, text) {
  let doc = '';
  try {
    doc = readFileSync(FILE, 'utf8');
  } catch {
    // No file yet: this part is its first.
  }
  const found = MARKERS.filter((m) => doc.includes(m))
    .map((m) => [m, doc.indexOf(m)])
    .sort((a, b) => a[1] - b[1]);
  const parts = new Map([['', doc.slice(0, found[0]?.[1] ?? doc.length)]]);
  found.forEach(([m, at], i) => parts.set(m, doc.slice(at, found[i + 1]?.[1] ?? doc.length)));
  parts.set(marker ?? '', marker ? `${marker}\n${text}` : text);
  const ordered = ['', ...MARKERS].map((m) => parts.get(m)?.trimEnd()).filter(Boolean);
  writeFileSync(FILE, `${ordered.join('\n\n')}\n`);
}
