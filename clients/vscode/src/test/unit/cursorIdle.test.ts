import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CursorIdleNotifier, CursorIdleParams } from '../../core/cursorIdle';

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('CursorIdleNotifier', () => {
  it('sends one notification once the cursor rests, not one per move', async () => {
    const sent: CursorIdleParams[] = [];
    const notifier = new CursorIdleNotifier((p) => sent.push(p), 30);
    notifier.moved('file:///a.py', 1, 2);
    notifier.moved('file:///a.py', 1, 3);
    notifier.moved('file:///a.py', 4, 0);
    assert.equal(sent.length, 0);
    await wait(80);
    assert.deepEqual(sent, [{ textDocument: { uri: 'file:///a.py' }, position: { line: 4, character: 0 } }]);
  });

  it('does not report the same resting place twice, and a cancelled rest never', async () => {
    const sent: CursorIdleParams[] = [];
    const notifier = new CursorIdleNotifier((p) => sent.push(p), 20);
    notifier.moved('file:///a.py', 4, 0);
    await wait(60);
    notifier.moved('file:///a.py', 4, 0);
    await wait(60);
    notifier.moved('file:///b.py', 0, 0);
    notifier.cancel();
    await wait(60);
    assert.equal(sent.length, 1);
  });
});
