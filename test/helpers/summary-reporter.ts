// Ends the run with one plain line, "N passed, N failed, N skipped", that any CI reads.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of modules) {
      // A file whose set-up failed (no browser, say) never ran its tests: they count as
      // failed, not skipped, and so does a file that failed before it declared any.
      const failed = module.state() === 'failed';
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        counts[failed && state === 'skipped' ? 'failed' : state] += 1;
      }
      if (failed && module.children.size === 0) counts.failed += 1;
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped + counts.pending} skipped\n`);
  }
}
