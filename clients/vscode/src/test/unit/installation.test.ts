import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkInstallation, installArgs, installCommandLine, quote } from '../../core/installation';

/** A real Python 3, to run the probe against fake `ghostline` packages. */
const PYTHON = process.platform === 'win32' ? 'python' : 'python3';

describe('checkInstallation', () => {
  let root: string;

  function fakePackage(name: string, initPy: string): string {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'ghostline'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ghostline', '__init__.py'), initPy);
    return dir;
  }

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-install-'));
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reports the version of an importable ghostline', async () => {
    const dir = fakePackage('ok', "__version__ = '9.8.7'\n");
    const state = await checkInstallation(PYTHON, {
      timeoutMs: 20_000,
      env: { ...process.env, PYTHONPATH: dir },
    });
    assert.deepEqual(state, { kind: 'installed', version: '9.8.7' });
  });

  it('reports a package that fails to import as missing, with the error line', async () => {
    const dir = fakePackage('broken', "raise ImportError('llama_cpp is not installed')\n");
    const state = await checkInstallation(PYTHON, {
      timeoutMs: 20_000,
      env: { ...process.env, PYTHONPATH: dir },
    });
    assert.equal(state.kind, 'missing');
    assert.match(state.kind === 'missing' ? state.detail : '', /ImportError: llama_cpp is not installed/);
  });

  it('reports an interpreter that does not exist', async () => {
    const state = await checkInstallation(path.join(root, 'no-such-python'), { timeoutMs: 5_000 });
    assert.equal(state.kind, 'no-interpreter');
    assert.match(state.kind === 'no-interpreter' ? state.detail : '', /ENOENT/);
  });
});

describe('install command', () => {
  it('uses the interpreter’s own pip', () => {
    assert.deepEqual(installArgs().slice(0, 3), ['-m', 'pip', 'install']);
    assert.equal(
      installCommandLine('/venv/bin/python', 'linux'),
      `/venv/bin/python -m pip install --upgrade 'ghostline[default-model]'`,
    );
  });

  it('quotes paths with spaces for the platform’s shell', () => {
    assert.equal(quote('/My Env/bin/python', 'linux'), `'/My Env/bin/python'`);
    assert.equal(quote("it's", 'linux'), `'it'\\''s'`);
    assert.equal(quote('C:\\My Env\\python.exe', 'win32'), '"C:\\My Env\\python.exe"');
    assert.equal(quote('plain-arg', 'linux'), 'plain-arg');
  });
});
