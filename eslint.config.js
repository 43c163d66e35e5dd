// The layers the README's architecture describes, kept by the linter rather than by
// review: Electron only in the desktop shell, a core free of I/O, a panel free of Node.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** `no-restricted-imports` for one folder: these modules, and these patterns of paths. */
const restrict = (paths, patterns = []) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }],
});

const electron = {
  name: 'electron',
  message: 'Only src/electron/ imports Electron; everything else must run in plain Node (npm test has no Electron binary).',
  allowTypeImports: true,
};

const nodeBuiltins = (names, message) =>
  names.flatMap((name) => [
    { name, message },
    { name: `node:${name}`, message },
  ]);

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'native/', 'coverage/', 'test-output/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      ...restrict([electron]),
    },
  },
  {
    files: ['src/electron/**'],
    rules: restrict([]),
  },
  {
    files: ['src/core/**'],
    rules: restrict(
      [
        electron,
        ...nodeBuiltins(
          ['fs', 'fs/promises', 'net', 'http', 'https', 'child_process'],
          'src/core/ is pure: no disk, no network. Do the I/O in store/, delivery/ or server/ and pass the values in.',
        ),
        { name: 'better-sqlite3', message: 'src/core/ is pure: storage belongs in src/store/.' },
        { name: 'undici', message: 'src/core/ is pure: the network belongs in src/delivery/.' },
      ],
      [
        {
          group: ['**/store/*', '**/delivery/*', '**/server/*', '**/capture/*', '**/operations/*', '**/electron/*'],
          message: 'src/core/ imports nothing from the layers above it.',
        },
      ],
    ),
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict(
      [electron],
      [{ group: ['node:*'], message: 'The panel runs in the browser: it talks HTTP to the agent and imports nothing from Node.' }],
    ),
  },
  {
    files: ['test/electron/stand-in/**'],
    rules: restrict([]),
  },
);
