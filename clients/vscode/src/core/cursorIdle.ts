/**
 * Tells the server where the cursor comes to rest (`ghostline/cursorIdle`), so it can read
 * that place's prompt into the model's cache before a suggestion is asked for there.
 * One notification per rest: every move restarts the timer, and a rest at the position
 * already reported sends nothing. The server decides whether to use it (its `idlePrefill`
 * setting) and bounds the work.
 */
export const CURSOR_IDLE_METHOD = 'ghostline/cursorIdle';
/** How long the cursor must stay put before the server hears of it. */
export const CURSOR_IDLE_MS = 300;

export interface CursorIdleParams {
  textDocument: { uri: string };
  position: { line: number; character: number };
}

export type SendCursorIdle = (params: CursorIdleParams) => void;

export class CursorIdleNotifier {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = '';

  constructor(
    private readonly send: SendCursorIdle,
    private readonly delayMs: number = CURSOR_IDLE_MS,
  ) {}

  /** The cursor moved to `line`:`character` (UTF-16, as LSP counts) of document `uri`. */
  moved(uri: string, line: number, character: number): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const key = `${uri}:${line}:${character}`;
      if (key === this.lastSent) {
        return;
      }
      this.lastSent = key;
      this.send({ textDocument: { uri }, position: { line, character } });
    }, this.delayMs);
  }

  /** Forget the pending rest (the editor lost focus, the client stopped). */
  cancel(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
