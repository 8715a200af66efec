/**
 * Which Python runs `ghostline serve`: the `ghostline.interpreter` setting, else the Python
 * extension's active interpreter, else `python3` from PATH.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
  /** An absolute path, or a bare command looked up on PATH (`python3`). */
  readonly command: string;
  readonly source: InterpreterSource;
}

export interface InterpreterInputs {
  /** The raw `ghostline.interpreter` value. */
  readonly setting: string | undefined;
  /** The first workspace folder, for `${workspaceFolder}` and relative paths. */
  readonly workspaceFolder: string | undefined;
  /** Asks the Python extension; resolves to undefined when it is absent or has no answer. */
  readonly pythonExtension: () => Promise<string | undefined>;
  readonly homeDir?: string;
}

export const DEFAULT_INTERPRETER = process.platform === 'win32' ? 'python' : 'python3';

export async function resolveInterpreter(inputs: InterpreterInputs): Promise<Interpreter> {
  const configured = inputs.setting?.trim();
  if (configured) {
    return {
      command: expandPath(configured, inputs.workspaceFolder, inputs.homeDir ?? os.homedir()),
      source: 'setting',
    };
  }
  let fromExtension: string | undefined;
  try {
    fromExtension = (await inputs.pythonExtension())?.trim();
  } catch {
    fromExtension = undefined; // a broken Python extension must not keep Ghostline down
  }
  if (fromExtension) {
    return { command: fromExtension, source: 'python-extension' };
  }
  return { command: DEFAULT_INTERPRETER, source: 'default' };
}

/**
 * Expands `${workspaceFolder}`, `${userHome}` and a leading `~`; a relative path with a
 * directory part is taken relative to the workspace folder; a bare name (`python3.12`) is
 * left for PATH lookup.
 */
export function expandPath(value: string, workspaceFolder: string | undefined, home: string): string {
  let out = value.replace(/\$\{userHome\}/g, home);
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
    out = path.join(home, out.slice(1));
  }
  const hasDirectory = out.includes('/') || out.includes('\\');
  if (hasDirectory && !path.isAbsolute(out) && workspaceFolder !== undefined) {
    out = path.resolve(workspaceFolder, out);
  }
  return out;
}

/**
 * The subset of the Python extension's exported API (`ms-python.python`) used here. Both
 * the current `environments` API and the older `settings.getExecutionDetails` are read, so
 * any version of that extension from the last few years answers.
 */
interface PythonEnvironmentsApi {
  getActiveEnvironmentPath?: (resource?: unknown) => { path?: string } | undefined;
  resolveEnvironment?: (
    env: unknown,
  ) => Promise<{ executable?: { uri?: { fsPath?: string } } } | undefined>;
}

interface PythonApi {
  ready?: Promise<void>;
  environments?: PythonEnvironmentsApi;
  settings?: {
    getExecutionDetails?: (resource?: unknown) => { execCommand?: string[] } | undefined;
  };
}

/** The active interpreter's executable from the Python extension's exports, if any. */
export async function interpreterFromPythonApi(
  exports: unknown,
  resource: unknown,
): Promise<string | undefined> {
  if (typeof exports !== 'object' || exports === null) {
    return undefined;
  }
  const api = exports as PythonApi;
  if (api.ready !== undefined) {
    await api.ready;
  }
  const environments = api.environments;
  if (environments?.getActiveEnvironmentPath !== undefined) {
    const active = environments.getActiveEnvironmentPath(resource);
    if (active !== undefined) {
      const resolved = environments.resolveEnvironment
        ? await environments.resolveEnvironment(active)
        : undefined;
      const executable = resolved?.executable?.uri?.fsPath ?? active.path;
      if (executable) {
        return executable;
      }
    }
  }
  const command = api.settings?.getExecutionDetails?.(resource)?.execCommand;
  return command !== undefined && command.length > 0 ? command[0] : undefined;
}
