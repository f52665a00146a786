import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

/** Modules with side effects that must never reach deterministic workflow or interpreter code. */
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg',
  'nodemailer',
  'express',
  'handlebars',
  'ajv',
  'smtp-server',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

/** The domain and the worker side never reach into the HTTP layer: `api/` imports them, not the other way. */
const noApiImports = [
  {
    regex: '^(\\.\\./)+api(/|$)',
    message:
      'Domain code must not import api/: throw a lib/domain-errors.ts error (api/problem.ts maps it) and keep shared code outside api/.',
  },
];

export default tseslint.config(
  {
    // web/public/sw.js is plain browser JavaScript outside any tsconfig; vite.config.mts is build glue whose
    // ESM-only imports the import-x resolver cannot load.
    ignores: [
      'node_modules/',
      'dist/',
      '.data/',
      'coverage/',
      'eslint.config.mjs',
      'jest.config.js',
      'web/dist/',
      'web/public/sw.js',
      'web/vite.config.mts',
      'web/src/api/schema.d.ts',
      'web/test-results/',
      'bench/peers/flowable/target/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  {
    files: [
      'crm/**/*.ts',
      'cases/**/*.ts',
      'identity/**/*.ts',
      'activities/**/*.ts',
      'worker/**/*.ts',
      'lib/**/*.ts',
      'designer/**/*.ts',
      'db/**/*.ts',
      'infra/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: noApiImports }] },
  },
  {
    // The same rule key: this block repeats the api/ patterns, since a later block replaces an earlier one's options.
    files: ['workflows/**/*.ts', 'engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'Workflow and interpreter code must be deterministic: no I/O or Node builtins.',
          })),
          patterns: noApiImports,
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts', 'designer/cli.ts', 'bench/**/*.ts', 'test/cluster/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
