/**
 * Cancellable server progress (test generation) as a notification with a Cancel button that
 * sends `window/workDoneProgress/cancel`. Progress that cannot be cancelled (model loading,
 * indexing) is left to the status bar. The notification UI is injected (VS Code's
 * `window.withProgress` in the extension, a recorder in tests).
 */

export type Token = string | number;

export type ProgressValue =
  | { kind: 'begin'; title: string; message?: string; percentage?: number; cancellable?: boolean }
  | { kind: 'report'; message?: string; percentage?: number }
  | { kind: 'end'; message?: string };

export interface ProgressStep {
  readonly message?: string;
  /** Percentage points since the previous step (VS Code's `increment`). */
  readonly increment?: number;
}

/**
 * Shows a cancellable notification titled `title` until `done` settles; `report` updates
 * it; `onCancel` registers what a click on Cancel does.
 */
export type ShowNotification = (
  title: string,
  run: (report: (step: ProgressStep) => void, onCancel: (listener: () => void) => void) => Promise<void>,
) => void;

interface Open {
  report(value: { message?: string; percentage?: number }): void;
  end(): void;
}

export class ProgressNotifications {
  private readonly open = new Map<Token, Open>();

  constructor(
    private readonly show: ShowNotification,
    private readonly cancel: (token: Token) => void,
  ) {}

  handle(token: Token, value: ProgressValue): void {
    if (value.kind === 'begin') {
      if (value.cancellable === true && !this.open.has(token)) {
        this.begin(token, value);
      }
    } else if (value.kind === 'report') {
      this.open.get(token)?.report(value);
    } else {
      this.open.get(token)?.end();
      this.open.delete(token);
    }
  }

  /** Closes every open notification (server stopped). */
  clear(): void {
    for (const entry of this.open.values()) {
      entry.end();
    }
    this.open.clear();
  }

  private begin(token: Token, begin: { title: string; message?: string; percentage?: number }): void {
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let reported = 0;
    let sink: ((step: ProgressStep) => void) | undefined;
    const pending: ProgressStep[] = [];
    const report = (value: { message?: string; percentage?: number }): void => {
      let increment: number | undefined;
      if (value.percentage !== undefined) {
        const target = Math.max(0, Math.min(100, value.percentage));
        increment = Math.max(0, target - reported);
        reported += increment;
      }
      const step = { message: value.message, increment };
      if (sink !== undefined) {
        sink(step);
      } else {
        pending.push(step);
      }
    };
    this.open.set(token, { report, end: finish });
    report(begin);
    this.show(begin.title, async (reportStep, onCancel) => {
      sink = reportStep;
      for (const step of pending.splice(0)) {
        reportStep(step);
      }
      onCancel(() => this.cancel(token));
      await done;
    });
  }
}
