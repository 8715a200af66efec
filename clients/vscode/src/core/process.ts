/** Running the interpreter for short checks (`import ghostline`, `ghostline doctor`). */
import { execFile } from 'node:child_process';

export interface RunResult {
  /** Exit code; null when the process could not start or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the process could not start (ENOENT, EACCES) or ran past the time limit. */
  readonly error?: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      {
        timeout: options.timeoutMs,
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: 4 * 1024 * 1024,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const failure = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        if (typeof failure.code === 'number') {
          resolve({ code: failure.code, stdout, stderr });
        } else if (failure.killed === true) {
          resolve({ code: null, stdout, stderr, error: `timed out after ${options.timeoutMs} ms` });
        } else {
          resolve({ code: null, stdout, stderr, error: failure.message });
        }
      },
    );
  });
}
