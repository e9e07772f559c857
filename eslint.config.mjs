// ESLint with typescript-eslint's type-checked rules over every TypeScript file (backend, client,
// tests); Prettier owns the layout (eslint-config-prettier turns off the rules it would fight).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-test/',
      'client/dist/',
      'packages/*/dist/',
      'examples/*/dist/',
      'node_modules/',
      '.livekit/',
      '.tools/',
      'bench-results/',
      'coverage/',
      'tools/agent-worker/dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async method without await is how an in-memory implementation keeps a Promise interface
      // (the memory store, fakes in specs): the point, not a mistake.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks what a signature must take but does not use.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain scripts and Jest's own files: no type information to check them with.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        expect: 'readonly',
        jest: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
