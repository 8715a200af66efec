/**
 * A real `ghostline serve` over stdio, driven with the same vscode-languageserver-protocol
 * stack the extension uses. Answers the requests VS Code answers (configuration, progress
 * tokens, registrations), records notifications and stderr, bounds every request in time.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  ApplyWorkspaceEditParams,
  ApplyWorkspaceEditRequest,
  CancellationTokenSource,
  ConfigurationRequest,
  LogMessageNotification,
  ProtocolConnection,
  RegistrationRequest,
  ShowMessageNotification,
  ShowMessageRequest,
  StreamMessageReader,
  StreamMessageWriter,
  UnregistrationRequest,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { EXTENSION_ROOT } from '../unit/packageJson';

export const REPO_ROOT = path.resolve(EXTENSION_ROOT, '..', '..');

export interface PythonSetup {
  readonly python: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The interpreter from GHOSTLINE_PYTHON (else the repo's .venv), with PYTHONPATH pointing at
 * the repo's server/ only when `import ghostline` fails without it (not installed yet).
 */
export function pythonSetup(): PythonSetup {
  const python = process.env.GHOSTLINE_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  const probe = spawnSync(python, ['-c', 'import ghostline'], { env, encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(`cannot run ${python}: ${probe.error.message}`);
  }
  if (probe.status !== 0) {
    const serverDir = path.join(REPO_ROOT, 'server');
    env.PYTHONPATH = env.PYTHONPATH ? `${serverDir}${path.delimiter}${env.PYTHONPATH}` : serverDir;
  }
  return { python, env };
}

export interface ProgressEvent {
  readonly token: string | number;
  readonly kind: 'begin' | 'report' | 'end';
  readonly title?: string;
  readonly at: number;
}

export class ServerSession {
  readonly connection: ProtocolConnection;
  readonly progress: ProgressEvent[] = [];
  readonly messages: { type: number; message: string }[] = [];
  readonly configurationRequests: unknown[] = [];
  /** `workspace/applyEdit` requests; answered "applied", as VS Code does after applying. */
  readonly appliedEdits: ApplyWorkspaceEditParams[] = [];
  private readonly stderrChunks: string[] = [];
  private readonly exited: Promise<number | null>;
  private readonly activeProgress = new Set<string | number>();
  private progressWaiters: (() => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    configuration: (section: string | undefined) => unknown,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.stderrChunks.push(chunk));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    if (child.stdout === null || child.stdin === null) {
      throw new Error('server process has no stdio pipes');
    }
    this.connection = createProtocolConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const c = this.connection;
    c.onRequest(ConfigurationRequest.type, (params) => {
      this.configurationRequests.push(params);
      return params.items.map((item) => configuration(item.section));
    });
    c.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      c.onProgress(WorkDoneProgress.type, params.token, (value) => {
        this.progress.push({
          token: params.token,
          kind: value.kind,
          title: value.kind === 'begin' ? value.title : undefined,
          at: Date.now(),
        });
        if (value.kind === 'begin') {
          this.activeProgress.add(params.token);
        } else if (value.kind === 'end') {
          this.activeProgress.delete(params.token);
          this.notifyProgressWaiters();
        }
      });
    });
    c.onRequest(ApplyWorkspaceEditRequest.type, (params) => {
      this.appliedEdits.push(params);
      return { applied: true };
    });
    c.onRequest(RegistrationRequest.type, () => undefined);
    c.onRequest(UnregistrationRequest.type, () => undefined);
    c.onRequest(ShowMessageRequest.type, (params) => {
      this.messages.push({ type: params.type, message: params.message });
      return null;
    });
    c.onNotification(ShowMessageNotification.type, (params) => {
      this.messages.push(params);
    });
    c.onNotification(LogMessageNotification.type, (params) => {
      this.messages.push(params);
    });
    c.listen();
  }

  static start(
    setup: PythonSetup,
    cwd: string,
    configuration: (section: string | undefined) => unknown,
  ): ServerSession {
    const child = spawn(setup.python, ['-m', 'ghostline', 'serve'], {
      cwd,
      env: setup.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ServerSession(child, configuration);
  }

  get stderr(): string {
    return this.stderrChunks.join('');
  }

  /** Everything the server said (stderr and window/logMessage), for assertion messages. */
  transcript(lines = 60): string {
    const log = this.messages.map((m) => `[lsp ${m.type}] ${m.message}`).join('\n');
    return `${this.stderr}\n${log}`.trim().split('\n').slice(-lines).join('\n');
  }

  /** Sends a request, cancelling it and failing after `timeoutMs`. */
  async request<R>(method: string, params: unknown, timeoutMs: number): Promise<R> {
    const source = new CancellationTokenSource();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        source.cancel();
        reject(new Error(`${method} took longer than ${timeoutMs} ms\n${this.transcript()}`));
      }, timeoutMs);
    });
    const died = this.exited.then((code) => {
      throw new Error(`the server exited (code ${String(code)}) during ${method}\n${this.transcript()}`);
    });
    try {
      return await Promise.race([
        this.connection.sendRequest<R>(method, params, source.token),
        timeout,
        died,
      ]);
    } finally {
      clearTimeout(timer);
      source.dispose();
    }
  }

  /** Resolves when no server progress is open (indexing, model loading) or after `timeoutMs`. */
  async quiet(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.activeProgress.size > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.progressWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.activeProgress.size === 0;
  }

  /** shutdown + exit; returns the exit code (kills the process if it does not go). */
  async close(timeoutMs: number): Promise<number | null> {
    if (this.child.exitCode === null) {
      try {
        await this.request('shutdown', undefined, timeoutMs);
        await this.connection.sendNotification('exit');
      } catch {
        // fall through to the kill below
      }
    }
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs)),
    ]);
    this.connection.dispose();
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`the server did not exit within ${timeoutMs} ms after shutdown + exit`);
    }
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  private notifyProgressWaiters(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const w of waiters) {
      w();
    }
  }
}
