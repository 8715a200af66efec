/**
 * Owns the language client: finds the interpreter, checks Ghostline is installed there,
 * starts / stops / restarts `ghostline serve`, forwards settings and feeds the status bar.
 */
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';
import { checkInstallation, installArgs, installCommandLine } from './core/installation';
import { Interpreter, resolveInterpreter } from './core/interpreter';
import { LANGUAGE_IDS, documentSelector } from './core/languages';
import { SECTION, ServerSettings, SettingReader, needsRestart, toServerSettings } from './core/settings';
import { ProgressNotifications } from './core/progressNotifications';
import { SERVER_STATUS_COMMAND, StatusModel, serverStatusError } from './core/status';
import { ACCEPT_COMMAND, acceptCommandFeature, usageToday } from './core/usage';
import { CURSOR_IDLE_METHOD, CursorIdleNotifier } from './core/cursorIdle';
import { activeInterpreter, onActiveInterpreterChange } from './pythonExtension';
import { StatusBar } from './statusBar';

const INSTALL_CHECK_TIMEOUT_MS = 30_000;
/** Requests shorter than this do not flash the busy spinner. */
const BUSY_DELAY_MS = 300;
/** How often the status tooltip's "Today" line is refreshed from `ghostline.status`. */
const USAGE_REFRESH_MS = 60_000;

export class Controller implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly model = new StatusModel();
  private readonly statusBar: StatusBar;
  private readonly notifications: ProgressNotifications;
  private readonly disposables: vscode.Disposable[] = [];
  private client: LanguageClient | undefined;
  private interpreterInUse: Interpreter | undefined;
  /** Interpreters already told about a missing install this session ("say so once"). */
  private readonly warnedMissing = new Set<string>();
  /** Start / stop / restart run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private usageTimer: ReturnType<typeof setInterval> | undefined;
  private readonly cursorIdle = new CursorIdleNotifier(
    (params) => void this.languageClient?.sendNotification(CURSOR_IDLE_METHOD, params),
  );

  constructor() {
    this.log = vscode.window.createOutputChannel('Ghostline', { log: true });
    this.statusBar = new StatusBar(this.model);
    this.notifications = new ProgressNotifications(
      (title, run) =>
        void vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Ghostline: ${title}`, cancellable: true },
          (progress, cancellation) =>
            run(
              (step) => progress.report(step),
              (listener) => cancellation.onCancellationRequested(listener),
            ),
        ),
      (token) =>
        void this.languageClient?.sendNotification(WorkDoneProgressCancelNotification.type, { token }),
    );
    this.disposables.push(this.log, this.statusBar, { dispose: () => this.notifications.clear() });
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (needsRestart((section) => event.affectsConfiguration(section))) {
          void this.restart();
        } else if (event.affectsConfiguration(SECTION)) {
          this.refreshEnabled();
        }
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshEnabled()),
      vscode.window.onDidChangeTextEditorSelection((event) => this.cursorMoved(event)),
      { dispose: () => this.cursorIdle.cancel() },
    );
    void onActiveInterpreterChange(() => void this.followPythonExtension()).then((d) =>
      this.disposables.push(d),
    );
    this.refreshEnabled();
  }

  get languageClient(): LanguageClient | undefined {
    return this.client?.isRunning() === true ? this.client : undefined;
  }

  get interpreter(): Interpreter | undefined {
    return this.interpreterInUse;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** The interpreter the extension would use now (setting → Python extension → python3). */
  async resolveInterpreter(): Promise<Interpreter> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    return resolveInterpreter({
      setting: vscode.workspace.getConfiguration(SECTION, folder).get<string>('interpreter'),
      workspaceFolder: folder?.fsPath,
      pythonExtension: () => activeInterpreter(folder),
    });
  }

  /** Shows the spinner while `work` runs, unless it settles within BUSY_DELAY_MS. */
  async trackBusy<T>(work: () => Thenable<T> | T): Promise<T> {
    let done: (() => void) | undefined;
    const timer = setTimeout(() => {
      done = this.model.beginRequest();
      this.statusBar.render();
    }, BUSY_DELAY_MS);
    try {
      return await work();
    } finally {
      clearTimeout(timer);
      if (done !== undefined) {
        done();
        this.statusBar.render();
      }
    }
  }

  /** The settings object the server gets, as seen from `scope` (a resource URI). */
  serverSettings(scope?: vscode.Uri): ServerSettings {
    const plain = vscode.workspace.getConfiguration(SECTION, scope);
    const perLanguage = new Map<string, vscode.WorkspaceConfiguration>();
    const read: SettingReader = (key, languageId) => {
      if (languageId === undefined) {
        return plain.get(key);
      }
      let config = perLanguage.get(languageId);
      if (config === undefined) {
        config = vscode.workspace.getConfiguration(SECTION, { uri: scope, languageId });
        perLanguage.set(languageId, config);
      }
      return config.get(key);
    };
    return toServerSettings(read, LANGUAGE_IDS);
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<void> {
    this.model.setError(undefined);
    this.model.setLifecycle('starting');
    this.statusBar.render();

    const interpreter = await this.resolveInterpreter();
    this.interpreterInUse = interpreter;
    this.model.setInterpreter(interpreter.command);
    this.log.info(`Python interpreter: ${interpreter.command} (from ${interpreter.source})`);

    const installation = await checkInstallation(interpreter.command, {
      timeoutMs: INSTALL_CHECK_TIMEOUT_MS,
    });
    if (installation.kind !== 'installed') {
      const reason =
        installation.kind === 'no-interpreter'
          ? `cannot run Python at ${interpreter.command} (${installation.detail})`
          : `Ghostline is not installed for ${interpreter.command} (${installation.detail})`;
      this.log.error(reason);
      this.model.setLifecycle('stopped');
      this.model.setError(reason);
      this.statusBar.render();
      this.offerInstall(interpreter, installation.kind === 'no-interpreter');
      return;
    }
    this.log.info(`Ghostline ${installation.version} found; starting the server.`);

    const client = this.createClient(interpreter);
    client.registerFeature(acceptCommandFeature);
    this.client = client;
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.model.setLifecycle('running');
      } else if (event.newState === State.Starting) {
        this.model.setLifecycle('starting');
      } else {
        this.model.setLifecycle('stopped');
        this.notifications.clear();
        if (this.client === client && event.oldState === State.Running) {
          this.model.setError('the server stopped; see the log, then run "Ghostline: Restart Server"');
        }
      }
      this.statusBar.render();
    });
    try {
      await client.start();
      this.usageTimer = setInterval(() => void this.checkServerStatus(), USAGE_REFRESH_MS);
      this.usageTimer.unref?.();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`The server failed to start: ${message}`);
      this.model.setError(`the server failed to start (${message})`);
      this.statusBar.render();
    }
  }

  private async doStop(): Promise<void> {
    clearInterval(this.usageTimer);
    this.usageTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        if (client.needsStop()) {
          await client.stop(5_000);
        }
      } catch (error) {
        this.log.warn(`Stopping the server: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.model.setLifecycle('stopped');
    this.statusBar.render();
  }

  private createClient(interpreter: Interpreter): LanguageClient {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      args: ['-m', 'ghostline', 'serve'],
      // PYTHONSAFEPATH: the workspace (the cwd) must not shadow the standard library.
      options: { cwd: folder, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONSAFEPATH: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      outputChannel: this.log,
      initializationOptions: this.serverSettings(),
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // The server pulls the `ghostline` section: answer with the mapped object.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, i): unknown =>
              item.section === SECTION
                ? this.serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : answers[i],
            );
          },
          // Pushed on every change of `ghostline.*`: same mapped object, no restart needed.
          didChangeConfiguration: async () => {
            const active = this.client;
            if (active?.isRunning() === true) {
              await active.sendNotification(DidChangeConfigurationNotification.type, {
                settings: { [SECTION]: this.serverSettings() },
              });
            }
          },
        },
        // Progress goes to the status bar (and a cancellable notification when the server
        // allows cancelling), not to the client's own window progress.
        handleWorkDoneProgress: (token, params, next) => {
          this.model.onProgress(token, params);
          this.notifications.handle(token, params);
          this.statusBar.render();
          if (params.kind === 'end') {
            next(token, params); // lets the client drop its own (hidden) progress part
            void this.checkServerStatus(); // did the model load?
          }
        },
        provideInlineCompletionItems: (document, position, context, token, next) =>
          this.trackBusy(() => next(document, position, context, token)),
        // Picking "Generate tests for NAME" resolves the action: that is where the model runs.
        resolveCodeAction: (item, token, next) => this.trackBusy(() => next(item, token)),
        // An accepted suggestion's command only records it: no spinner; the tooltip's
        // "Today" line is refreshed after it.
        executeCommand: (command, args, next) =>
          command === ACCEPT_COMMAND
            ? Promise.resolve(next(command, args) as unknown).finally(() => void this.checkServerStatus())
            : this.trackBusy<unknown>(() => next(command, args) as unknown),
      },
    };
    return new LanguageClient('ghostline', 'Ghostline', serverOptions, clientOptions);
  }

  /** Restarts on the Python extension's interpreter when that is the one in use and it changed. */
  private async followPythonExtension(): Promise<void> {
    if (this.interpreterInUse?.source === 'setting') {
      return;
    }
    const next = await this.resolveInterpreter();
    if (next.command !== this.interpreterInUse?.command) {
      this.log.info(`The Python extension switched to ${next.command}; restarting Ghostline.`);
      await this.restart();
    }
  }

  /** Asks the server whether its model failed (`ghostline.status`), where it offers that. */
  private async checkServerStatus(): Promise<void> {
    const client = this.languageClient;
    const commands = client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (client === undefined || !commands.includes(SERVER_STATUS_COMMAND)) {
      return;
    }
    try {
      const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_STATUS_COMMAND,
        arguments: [],
      });
      const error = serverStatusError(answer);
      if (error !== undefined) {
        this.log.error(`The server reports: ${error}`);
      }
      this.model.setError(error !== undefined ? `the model failed to load: ${error}` : undefined);
      this.model.setUsage(usageToday(answer));
      this.statusBar.render();
    } catch (error) {
      this.log.warn(`${SERVER_STATUS_COMMAND} failed: ${String(error)}`);
    }
  }

  /** A cursor that moved in a document the server serves: report where it comes to rest. */
  private cursorMoved(event: vscode.TextEditorSelectionChangeEvent): void {
    const document = event.textEditor.document;
    const active = event.selections[0]?.active;
    if (this.languageClient === undefined || active === undefined || !LANGUAGE_IDS.includes(document.languageId)) {
      this.cursorIdle.cancel();
      return;
    }
    // VS Code and LSP both count characters in UTF-16 code units.
    this.cursorIdle.moved(document.uri.toString(), active.line, active.character);
  }

  private refreshEnabled(): void {
    const editor = vscode.window.activeTextEditor;
    const config = editor
      ? vscode.workspace.getConfiguration(SECTION, editor.document)
      : vscode.workspace.getConfiguration(SECTION);
    const disabled = config.get<string[]>('disabledLanguages') ?? [];
    const enabled =
      config.get<boolean>('enabled') !== false &&
      (editor === undefined || !disabled.includes(editor.document.languageId));
    this.model.setEnabled(enabled);
    this.statusBar.render();
  }

  private offerInstall(interpreter: Interpreter, noInterpreter: boolean): void {
    if (this.warnedMissing.has(interpreter.command)) {
      return;
    }
    this.warnedMissing.add(interpreter.command);
    const command = installCommandLine(interpreter.command);
    const install = 'Install';
    const choose = 'Choose Interpreter';
    const copy = 'Copy Command';
    const text = noInterpreter
      ? `Ghostline cannot run Python at "${interpreter.command}". Set "ghostline.interpreter" to a Python 3.10+ executable.`
      : `Ghostline is not installed for ${interpreter.command}. Install it with: ${command}`;
    const buttons = noInterpreter ? [choose] : [install, copy, choose];
    void vscode.window.showWarningMessage(text, ...buttons).then(async (picked) => {
      if (picked === install) {
        await this.install(interpreter);
      } else if (picked === copy) {
        await vscode.env.clipboard.writeText(command);
      } else if (picked === choose) {
        await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
      }
    });
  }

  /** Runs pip as a visible task; restarts the server when it succeeds. */
  private async install(interpreter: Interpreter): Promise<void> {
    const task = new vscode.Task(
      { type: 'process', ghostline: 'install' },
      vscode.TaskScope.Workspace,
      'Install Ghostline',
      'Ghostline',
      new vscode.ProcessExecution(interpreter.command, installArgs()),
    );
    const execution = await vscode.tasks.executeTask(task);
    const listener = vscode.tasks.onDidEndTaskProcess((event) => {
      if (event.execution !== execution) {
        return;
      }
      listener.dispose();
      if (event.exitCode === 0) {
        this.log.info('Ghostline installed; starting the server.');
        void this.restart();
      } else {
        this.log.error(`Installing Ghostline failed (exit code ${String(event.exitCode)}).`);
        void vscode.window.showErrorMessage(
          'Installing Ghostline failed; see the terminal. Set "ghostline.interpreter" to a virtual environment if this Python is managed by the system.',
        );
      }
    });
    this.disposables.push(listener);
  }
}
