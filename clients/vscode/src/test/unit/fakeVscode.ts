/**
 * Just enough of the `vscode` module to load the bundled extension under Node and run
 * `activate` up to the point where it would start the server. Records what the extension
 * shows (messages, status bar, log) and registers. Unknown members are inert classes, so
 * vscode-languageclient's `class X extends vscode.Y` declarations load.
 */
// The real Module object (a namespace import would be a copy), to hook `require('vscode')`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import Module = require('node:module');

type Listener = (value: unknown) => void;

export interface FakeState {
  readonly commands: Map<string, (...args: unknown[]) => unknown>;
  readonly executed: unknown[][];
  readonly warnings: { message: string; buttons: string[] }[];
  readonly log: string[];
  readonly statusItems: { text: string; tooltip: unknown; command: unknown; visible: boolean }[];
  settings: Record<string, unknown>;
  pythonExtension: { isActive: boolean; exports: unknown } | undefined;
}

class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

class EventEmitter {
  private readonly listeners: Listener[] = [];
  readonly event = (listener: Listener): Disposable => {
    this.listeners.push(listener);
    return new Disposable();
  };
  fire(value: unknown): void {
    for (const l of this.listeners) {
      l(value);
    }
  }
  dispose(): void {
    this.listeners.length = 0;
  }
}

export function createFakeVscode(state: FakeState): Record<string, unknown> {
  const noEvent = (): Disposable => new Disposable();
  const logger = (level: string) => (message: string) => state.log.push(`${level} ${message}`);
  const api: Record<string, unknown> = {
    Disposable,
    EventEmitter,
    ThemeColor: class {
      constructor(readonly id: string) {}
    },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        state.commands.set(id, fn);
        return new Disposable(() => state.commands.delete(id));
      },
      executeCommand: (...args: unknown[]) => {
        state.executed.push(args);
        return Promise.resolve(undefined);
      },
    },
    window: {
      activeTextEditor: undefined,
      onDidChangeActiveTextEditor: noEvent,
      onDidChangeTextEditorSelection: noEvent,
      createOutputChannel: (name: string) => ({
        name,
        info: logger('info'),
        warn: logger('warn'),
        error: logger('error'),
        debug: logger('debug'),
        trace: logger('trace'),
        append: logger('append'),
        appendLine: logger('line'),
        show: () => undefined,
        clear: () => undefined,
        dispose: () => undefined,
      }),
      createStatusBarItem: () => {
        const item = {
          text: '',
          tooltip: undefined as unknown,
          command: undefined as unknown,
          name: '',
          backgroundColor: undefined as unknown,
          visible: false,
          show: () => {
            item.visible = true;
          },
          hide: () => {
            item.visible = false;
          },
          dispose: () => undefined,
        };
        state.statusItems.push(item);
        return item;
      },
      showWarningMessage: (message: string, ...buttons: string[]) => {
        state.warnings.push({ message, buttons });
        return Promise.resolve(undefined);
      },
      showInformationMessage: () => Promise.resolve(undefined),
      showErrorMessage: () => Promise.resolve(undefined),
      setStatusBarMessage: () => new Disposable(),
    },
    workspace: {
      workspaceFolders: undefined,
      onDidChangeConfiguration: noEvent,
      getConfiguration: (section?: string) => ({
        get: (key: string, fallback?: unknown) => {
          const full = section ? `${section}.${key}` : key;
          return full in state.settings ? state.settings[full] : fallback;
        },
        has: () => false,
        inspect: () => undefined,
        update: () => Promise.resolve(),
      }),
    },
    extensions: {
      getExtension: (id: string) => (id === 'ms-python.python' ? state.pythonExtension : undefined),
    },
    env: { clipboard: { writeText: () => Promise.resolve() } },
  };
  return new Proxy(api, {
    get: (target, prop) => {
      if (prop === '__esModule') {
        return true;
      }
      if (typeof prop === 'string' && !(prop in target)) {
        target[prop] = class {}; // inert stand-in (a class, so `extends` works)
      }
      return target[prop as string];
    },
  });
}

/** Loads `bundlePath` with `vscode` resolved to `fake`; a fresh copy each call. */
export function loadWithFakeVscode(bundlePath: string, fake: unknown): unknown {
  const loader = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const original = loader._load;
  loader._load = function (request: string, parent: unknown, isMain: boolean): unknown {
    return request === 'vscode' ? fake : original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve(bundlePath)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the bundle under test
    return require(bundlePath) as unknown;
  } finally {
    loader._load = original;
  }
}

export function newFakeState(settings: Record<string, unknown> = {}): FakeState {
  return {
    commands: new Map(),
    executed: [],
    warnings: [],
    log: [],
    statusItems: [],
    settings,
    pythonExtension: undefined,
  };
}
