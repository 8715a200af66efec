/**
 * The bundled extension (dist/extension.js, what the .vsix ships) activated against a fake
 * `vscode` module: it registers the declared commands, resolves the interpreter, and, when
 * that Python cannot run Ghostline, says so once and shows the error in the status bar.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { FakeState, createFakeVscode, loadWithFakeVscode, newFakeState } from './fakeVscode';
import { EXTENSION_ROOT, readPackageJson } from './packageJson';

interface ExtensionModule {
  activate(context: { subscriptions: { dispose(): unknown }[] }): { started: Promise<void> };
  deactivate(): Promise<void>;
}

const BUNDLE = path.join(EXTENSION_ROOT, readPackageJson().main);

async function activateWith(state: FakeState): Promise<{ ext: ExtensionModule; subscriptions: { dispose(): unknown }[] }> {
  const ext = loadWithFakeVscode(BUNDLE, createFakeVscode(state)) as ExtensionModule;
  const context = { subscriptions: [] as { dispose(): unknown }[] };
  await ext.activate(context).started;
  return { ext, subscriptions: context.subscriptions };
}

function statusText(state: FakeState): string {
  const item = state.statusItems[0];
  assert.ok(item, 'no status bar item');
  assert.ok(item.visible, 'status bar item hidden');
  return item.text;
}

describe('activate (bundled extension, fake VS Code)', () => {
  it('exports activate and deactivate', () => {
    const ext = loadWithFakeVscode(BUNDLE, createFakeVscode(newFakeState())) as ExtensionModule;
    assert.equal(typeof ext.activate, 'function');
    assert.equal(typeof ext.deactivate, 'function');
  });

  it('registers every command package.json declares', async () => {
    const state = newFakeState({ 'ghostline.interpreter': '/nonexistent/python' });
    const { ext } = await activateWith(state);
    const declared = readPackageJson().contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...state.commands.keys()].sort(), declared);
    assert.equal(state.statusItems[0]?.command, 'ghostline.showLog');
    await ext.deactivate();
  });

  it('reports an interpreter that cannot run, once, and shows the error', async () => {
    const state = newFakeState({ 'ghostline.interpreter': '/nonexistent/python' });
    const { ext } = await activateWith(state);
    assert.match(statusText(state), /\$\(error\)/);
    assert.match(String(state.statusItems[0]?.tooltip), /\/nonexistent\/python/);
    assert.equal(state.warnings.length, 1);
    assert.match(state.warnings[0]?.message ?? '', /cannot run Python at "\/nonexistent\/python"/);
    assert.ok(state.log.some((line) => line.startsWith('error ')), state.log.join('\n'));

    await state.commands.get('ghostline.restartServer')?.();
    assert.equal(state.warnings.length, 1, 'the same problem was reported twice');
    await ext.deactivate();
  });

  it('offers the install command for a Python without Ghostline', async () => {
    // A python3 whose `import ghostline` fails: a stub package that raises on import.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-noinstall-'));
    fs.mkdirSync(path.join(dir, 'ghostline'));
    fs.writeFileSync(path.join(dir, 'ghostline', '__init__.py'), "raise ImportError('not here')\n");
    const previous = process.env.PYTHONPATH;
    process.env.PYTHONPATH = dir;
    try {
      const state = newFakeState({ 'ghostline.interpreter': 'python3' });
      const { ext } = await activateWith(state);
      const warning = state.warnings[0];
      assert.ok(warning, 'no warning shown');
      assert.match(warning.message, /Ghostline is not installed for python3/);
      assert.match(warning.message, /python3 -m pip install/);
      assert.deepEqual(warning.buttons, ['Install', 'Copy Command', 'Choose Interpreter']);
      assert.match(statusText(state), /\$\(error\)/);
      await ext.deactivate();
    } finally {
      if (previous === undefined) {
        delete process.env.PYTHONPATH;
      } else {
        process.env.PYTHONPATH = previous;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows the Python extension’s interpreter when the setting is empty', async () => {
    const state = newFakeState({ 'ghostline.interpreter': '' });
    let active = '/from/python/extension/bin/python';
    const listeners: (() => void)[] = [];
    state.pythonExtension = {
      isActive: true,
      exports: {
        environments: {
          getActiveEnvironmentPath: () => ({ id: 'venv', path: active }),
          resolveEnvironment: () => Promise.resolve(undefined),
          onDidChangeActiveEnvironmentPath: (listener: () => void) => {
            listeners.push(listener);
            return { dispose: () => undefined };
          },
        },
      },
    };
    const { ext } = await activateWith(state);
    const logged = (text: string): boolean => state.log.some((l) => l.includes(text));
    assert.ok(logged(`${active} (from python-extension)`), state.log.join('\n'));
    assert.equal(listeners.length, 1, 'no listener for interpreter changes');

    active = '/other/venv/bin/python';
    listeners[0]?.();
    for (let i = 0; i < 100 && !logged(`${active} (from python-extension)`); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(logged(`switched to ${active}`), state.log.join('\n'));
    assert.ok(logged(`${active} (from python-extension)`), state.log.join('\n'));
    await ext.deactivate();
  });
});
