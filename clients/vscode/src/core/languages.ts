/**
 * VS Code language ids whose documents go to the server: those its index parses
 * (`server/ghostline/index/languages.py`; the protocol test checks the two agree).
 */
export const LANGUAGE_IDS: readonly string[] = [
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'rust',
  'java',
  'c',
  'cpp',
  'cuda-cpp',
];

export interface DocumentFilter {
  readonly scheme: string;
  readonly language: string;
}

/** Saved files and untitled buffers of every supported language. */
export function documentSelector(): DocumentFilter[] {
  return LANGUAGE_IDS.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}
