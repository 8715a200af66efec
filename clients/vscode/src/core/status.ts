/**
 * The state shown in the status bar, kept apart from VS Code so it can be unit-tested.
 *
 * Inputs: the client's lifecycle, `$/progress` from the server (indexing, model loading),
 * requests in flight (busy), failures and whether inline completion is on. Output: one
 * `StatusView` (text with codicons, tooltip, severity).
 */

import { UsageToday, usageLine } from './usage';

export type Lifecycle = 'stopped' | 'starting' | 'running';

export interface ProgressState {
  readonly title: string;
  readonly message?: string;
  readonly percentage?: number;
}

export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly severity: 'normal' | 'warning' | 'error';
  /** Short name of the state, for tests and the log. */
  readonly state: 'stopped' | 'starting' | 'progress' | 'busy' | 'ready' | 'disabled' | 'error';
}

export type ProgressValue =
  | { kind: 'begin'; title: string; message?: string; percentage?: number }
  | { kind: 'report'; message?: string; percentage?: number }
  | { kind: 'end'; message?: string };

export class StatusModel {
  private lifecycle: Lifecycle = 'stopped';
  private readonly progress = new Map<string | number, ProgressState>();
  private busyCount = 0;
  private error: string | undefined;
  private enabled = true;
  private interpreter: string | undefined;
  private usage: UsageToday | undefined;

  setLifecycle(lifecycle: Lifecycle): void {
    this.lifecycle = lifecycle;
    if (lifecycle !== 'running') {
      this.progress.clear();
      this.busyCount = 0;
    }
    if (lifecycle === 'running') {
      this.error = undefined;
    }
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  setInterpreter(command: string | undefined): void {
    this.interpreter = command;
  }

  /** Today's totals from the server's usage ledger (undefined: the ledger is off). */
  setUsage(usage: UsageToday | undefined): void {
    this.usage = usage;
  }

  /** A failure the user must act on; cleared when the server (re)starts. */
  setError(message: string | undefined): void {
    this.error = message;
  }

  onProgress(token: string | number, value: ProgressValue): void {
    if (value.kind === 'begin') {
      this.progress.set(token, {
        title: value.title,
        message: value.message,
        percentage: value.percentage,
      });
      return;
    }
    const current = this.progress.get(token);
    if (value.kind === 'end') {
      this.progress.delete(token);
    } else if (current !== undefined) {
      this.progress.set(token, {
        title: current.title,
        message: value.message ?? current.message,
        percentage: value.percentage ?? current.percentage,
      });
    }
  }

  /** Marks one request as in flight; call the returned function when it settles. */
  beginRequest(): () => void {
    this.busyCount += 1;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.busyCount = Math.max(0, this.busyCount - 1);
      }
    };
  }

  view(): StatusView {
    const usage = this.usage !== undefined && this.lifecycle === 'running' ? `\n${usageLine(this.usage)}` : '';
    const where = `${this.interpreter ? `\nPython: ${this.interpreter}` : ''}${usage}`;
    const click = '\nClick to show the log.';
    if (this.error !== undefined) {
      return {
        state: 'error',
        text: '$(error) Ghostline',
        tooltip: `Ghostline: ${this.error}${where}${click}`,
        severity: 'error',
      };
    }
    if (this.lifecycle === 'stopped') {
      return { state: 'stopped', text: '$(circle-slash) Ghostline', tooltip: `Ghostline: stopped${where}${click}`, severity: 'normal' };
    }
    if (this.lifecycle === 'starting') {
      return { state: 'starting', text: '$(loading~spin) Ghostline', tooltip: `Ghostline: starting${where}${click}`, severity: 'normal' };
    }
    const latest = [...this.progress.values()].pop();
    if (latest !== undefined) {
      const pct = latest.percentage !== undefined ? ` ${Math.round(latest.percentage)}%` : '';
      // The server titles its progress "Ghostline" and says what it does in the message.
      const generic = latest.title.trim().toLowerCase() === 'ghostline' || latest.title.trim() === '';
      const label = generic ? (latest.message ?? 'working') : latest.title;
      const detail = !generic && latest.message ? `: ${latest.message}` : '';
      return {
        state: 'progress',
        text: `$(sync~spin) Ghostline: ${label}${pct}`,
        tooltip: `Ghostline: ${label}${pct}${detail}${where}${click}`,
        severity: 'normal',
      };
    }
    if (this.busyCount > 0) {
      return { state: 'busy', text: '$(loading~spin) Ghostline', tooltip: `Ghostline: working${where}${click}`, severity: 'normal' };
    }
    if (!this.enabled) {
      return {
        state: 'disabled',
        text: '$(eye-closed) Ghostline',
        tooltip: `Ghostline: ready, inline completion off${where}${click}`,
        severity: 'normal',
      };
    }
    return { state: 'ready', text: '$(sparkle) Ghostline', tooltip: `Ghostline: ready${where}${click}`, severity: 'normal' };
  }
}

/** The server command that reports its state (model loaded, failed, backend). */
export const SERVER_STATUS_COMMAND = 'ghostline.status';

/**
 * The failure in a `ghostline.status` answer (`{state: "error", error: "..."}`), if any.
 * Anything else (loading, ready, an unexpected shape) is not an error.
 */
export function serverStatusError(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) {
    return undefined;
  }
  const { state, error } = answer as { state?: unknown; error?: unknown };
  if (state !== 'error') {
    return undefined;
  }
  return typeof error === 'string' && error.trim() !== '' ? error : 'the model failed to load';
}
