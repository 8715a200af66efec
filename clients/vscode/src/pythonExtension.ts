/** The Python extension (`ms-python.python`), when installed: active interpreter and changes. */
import * as vscode from 'vscode';
import { interpreterFromPythonApi } from './core/interpreter';

const PYTHON_EXTENSION_ID = 'ms-python.python';

async function pythonApi(): Promise<unknown> {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  return extension.isActive ? extension.exports : await extension.activate();
}

/** The Python extension's active interpreter for `resource`, or undefined. */
export async function activeInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  return interpreterFromPythonApi(await pythonApi(), resource);
}

interface ChangeEventSource {
  environments?: { onDidChangeActiveEnvironmentPath?: vscode.Event<unknown> };
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onActiveInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  const api = (await pythonApi().catch(() => undefined)) as ChangeEventSource | undefined;
  const event = api?.environments?.onDidChangeActiveEnvironmentPath;
  return event !== undefined ? event(() => listener()) : new vscode.Disposable(() => undefined);
}
