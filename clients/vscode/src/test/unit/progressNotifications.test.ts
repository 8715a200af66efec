import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ProgressNotifications, ProgressStep, ShowNotification } from '../../core/progressNotifications';

interface Shown {
  title: string;
  steps: ProgressStep[];
  cancel?: () => void;
  closed: boolean;
}

function harness(): { notifications: ProgressNotifications; shown: Shown[]; cancelled: (string | number)[] } {
  const shown: Shown[] = [];
  const cancelled: (string | number)[] = [];
  const show: ShowNotification = (title, run) => {
    const entry: Shown = { title, steps: [], closed: false };
    shown.push(entry);
    void run(
      (step) => entry.steps.push(step),
      (listener) => (entry.cancel = listener),
    ).then(() => (entry.closed = true));
  };
  return { notifications: new ProgressNotifications(show, (t) => cancelled.push(t)), shown, cancelled };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ProgressNotifications', () => {
  it('shows cancellable progress and forwards Cancel with its token', async () => {
    const { notifications, shown, cancelled } = harness();
    notifications.handle('gen-1', { kind: 'begin', title: 'writing tests for f', cancellable: true, percentage: 0 });
    assert.equal(shown.length, 1);
    assert.equal(shown[0]?.title, 'writing tests for f');
    shown[0]?.cancel?.();
    assert.deepEqual(cancelled, ['gen-1']);
    notifications.handle('gen-1', { kind: 'end' });
    await tick();
    assert.equal(shown[0]?.closed, true);
  });

  it('leaves progress that cannot be cancelled to the status bar', () => {
    const { notifications, shown } = harness();
    notifications.handle('model', { kind: 'begin', title: 'Ghostline', message: 'loading model' });
    notifications.handle('model', { kind: 'report', percentage: 50 });
    notifications.handle('model', { kind: 'end' });
    assert.equal(shown.length, 0);
  });

  it('turns percentages into increments and passes messages', () => {
    const { notifications, shown } = harness();
    notifications.handle(7, { kind: 'begin', title: 't', cancellable: true, percentage: 10 });
    notifications.handle(7, { kind: 'report', message: 'round 1', percentage: 40 });
    notifications.handle(7, { kind: 'report', percentage: 30 }); // never goes back
    notifications.handle(7, { kind: 'report', message: 'checking' });
    assert.deepEqual(shown[0]?.steps, [
      { message: undefined, increment: 10 },
      { message: 'round 1', increment: 30 },
      { message: undefined, increment: 0 },
      { message: 'checking', increment: undefined },
    ]);
  });

  it('closes everything on clear', async () => {
    const { notifications, shown } = harness();
    notifications.handle('a', { kind: 'begin', title: 'a', cancellable: true });
    notifications.handle('b', { kind: 'begin', title: 'b', cancellable: true });
    notifications.clear();
    await tick();
    assert.deepEqual(shown.map((s) => s.closed), [true, true]);
  });
});
