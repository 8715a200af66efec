import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_INTERPRETER,
  expandPath,
  interpreterFromPythonApi,
  resolveInterpreter,
} from '../../core/interpreter';

const WS = path.resolve('/work/project');
const HOME = path.resolve('/home/user');

describe('resolveInterpreter', () => {
  it('prefers the ghostline.interpreter setting over the Python extension', async () => {
    let asked = false;
    const result = await resolveInterpreter({
      setting: '${workspaceFolder}/.venv/bin/python',
      workspaceFolder: WS,
      homeDir: HOME,
      pythonExtension: () => {
        asked = true;
        return Promise.resolve('/usr/bin/python3.12');
      },
    });
    assert.deepEqual(result, { command: path.join(WS, '.venv/bin/python'), source: 'setting' });
    assert.equal(asked, false);
  });

  it('uses the Python extension when the setting is empty or blank', async () => {
    for (const setting of [undefined, '', '   ']) {
      const result = await resolveInterpreter({
        setting,
        workspaceFolder: WS,
        pythonExtension: () => Promise.resolve('/opt/py/bin/python'),
      });
      assert.deepEqual(result, { command: '/opt/py/bin/python', source: 'python-extension' });
    }
  });

  it('falls back to python3 when the Python extension is absent, silent or broken', async () => {
    const answers: (() => Promise<string | undefined>)[] = [
      () => Promise.resolve(undefined),
      () => Promise.resolve(''),
      () => Promise.reject(new Error('extension failed to activate')),
    ];
    for (const pythonExtension of answers) {
      const result = await resolveInterpreter({ setting: '', workspaceFolder: WS, pythonExtension });
      assert.deepEqual(result, { command: DEFAULT_INTERPRETER, source: 'default' });
    }
  });
});

describe('expandPath', () => {
  it('expands ~ and ${userHome}', () => {
    assert.equal(expandPath('~/venv/bin/python', WS, HOME), path.join(HOME, 'venv/bin/python'));
    assert.equal(expandPath('${userHome}/py', WS, HOME), `${HOME}/py`);
  });

  it('resolves a relative path against the workspace folder', () => {
    assert.equal(expandPath('.venv/bin/python', WS, HOME), path.join(WS, '.venv/bin/python'));
  });

  it('leaves a bare command for PATH lookup and an absolute path as is', () => {
    assert.equal(expandPath('python3.12', WS, HOME), 'python3.12');
    assert.equal(expandPath('/usr/bin/python3', WS, HOME), '/usr/bin/python3');
  });

  it('keeps ${workspaceFolder} when there is no folder open', () => {
    assert.equal(expandPath('${workspaceFolder}/py', undefined, HOME), '${workspaceFolder}/py');
  });
});

describe('interpreterFromPythonApi', () => {
  it('reads the resolved executable from the environments API', async () => {
    let resource: unknown;
    const api = {
      ready: Promise.resolve(),
      environments: {
        getActiveEnvironmentPath: (r: unknown) => {
          resource = r;
          return { id: 'x', path: '/envs/x' };
        },
        resolveEnvironment: (env: { path: string }) =>
          Promise.resolve({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
      },
    };
    assert.equal(await interpreterFromPythonApi(api, 'file:///ws'), '/envs/x/bin/python');
    assert.equal(resource, 'file:///ws');
  });

  it('uses the environment path when it cannot be resolved', async () => {
    const api = {
      environments: {
        getActiveEnvironmentPath: () => ({ path: '/usr/bin/python3' }),
        resolveEnvironment: () => Promise.resolve(undefined),
      },
    };
    assert.equal(await interpreterFromPythonApi(api, undefined), '/usr/bin/python3');
  });

  it('falls back to the older settings.getExecutionDetails API', async () => {
    const api = { settings: { getExecutionDetails: () => ({ execCommand: ['/old/python', '-X'] }) } };
    assert.equal(await interpreterFromPythonApi(api, undefined), '/old/python');
  });

  it('answers undefined for missing or unexpected exports', async () => {
    for (const exports of [undefined, null, 42, {}, { settings: { getExecutionDetails: () => ({}) } }]) {
      assert.equal(await interpreterFromPythonApi(exports, undefined), undefined);
    }
  });
});
