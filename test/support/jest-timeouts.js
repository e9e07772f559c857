// Per-project test timeouts (Jest takes `testTimeout` from the root config only): specs that start
// processes and Chromium need minutes on a loaded 2-core machine; unit specs keep Jest's 5 s.
'use strict';

const TIMEOUT_MS = { e2e: 120_000, browser: 300_000 };
const inBrowserProject = (expect.getState().testPath ?? '').includes('/test/browser/');
jest.setTimeout(inBrowserProject ? TIMEOUT_MS.browser : TIMEOUT_MS.e2e);
