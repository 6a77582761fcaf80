import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'named exports only' }] },
  },
  {
    // Algorithms take time and randomness as parameters so that they stay deterministic under test.
    files: ['src/balancer/**/*.ts'],
    ignores: ['src/balancer/clock.ts', 'src/balancer/rng.ts'],
    rules: {
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'take a Clock' },
        { object: 'Math', property: 'random', message: 'take an Rng' },
        { object: 'performance', property: 'now', message: 'take a Clock' }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'fetch'],
    },
  },
  {
    // The examples are plain JavaScript for users to copy: linted as such, without type information.
    files: ['examples/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: false, projectService: false, program: null },
      globals: Object.fromEntries(['AbortController', 'clearTimeout', 'console', 'fetch', 'process', 'setTimeout', 'TextDecoder'].map((name) => [name, 'readonly'])),
    },
  },
  {
    // The admin page's script runs in the browser as it is written: plain JavaScript, no types.
    files: ['src/admin/page/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      parserOptions: { project: false, projectService: false, program: null },
      globals: Object.fromEntries(['console', 'document', 'window', 'fetch', 'setInterval', 'setTimeout', 'Node', 'uPlot'].map((name) => [name, 'readonly'])),
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
