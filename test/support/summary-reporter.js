// Prints one closing line, `tests: N passed, N failed, N skipped`, after Jest's own summary: the form
// CI and scripts read a run's outcome from.
'use strict';

const { setImmediate } = require('node:timers');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const suitesFailed = results.numFailedTestSuites;
    // A suite that failed to run (a syntax error, a failing beforeAll) has no failed test to count.
    const failed = Math.max(
      results.numFailedTests,
      suitesFailed > 0 && results.numFailedTests === 0 ? suitesFailed : 0,
    );
    // After Jest's own summary, which its SummaryReporter prints once every custom reporter is done.
    setImmediate(() =>
      process.stdout.write(`tests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`),
    );
  }
}

module.exports = SummaryReporter;
