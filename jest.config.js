// Jest: unit specs beside the code (and the client library's), e2e specs that start real processes, and
// the crash scenarios in Chromium. `npm test` runs them in band: the e2e and browser specs start dev
// cluster nodes, the backend and Chromium, which must not fight over the machine's cores.
// Transform: @swc/jest (no type check here; `npm run build:test` type-checks every spec with tsc).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

// The browser package's React bindings (packages/resilient-room/src/react/*.tsx): JSX with React's runtime.
const swcTsx = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', tsx: true },
      transform: { react: { runtime: 'automatic' } },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '^.+\\.tsx$': swcTsx },
  moduleNameMapper: { '^@contracts$': '<rootDir>/src/contracts/index.ts' },
  // Compiled output is for processes the specs start, never a second copy of the specs.
  modulePathIgnorePatterns: [
    '<rootDir>/dist/',
    '<rootDir>/dist-test/',
    '<rootDir>/client/dist/',
    '<rootDir>/packages/.*/dist/',
    '<rootDir>/examples/.*/dist/',
  ],
};

module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/client/src/**/*.spec.ts',
        '<rootDir>/packages/*/src/**/*.spec.ts',
        '<rootDir>/test/**/*.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeouts.js'],
    },
    // One crash scenario takes up to a few minutes on a loaded 2-core machine.
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeouts.js'],
    },
  ],
};
