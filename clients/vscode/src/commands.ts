/** The extension's commands (see `contributes.commands` in package.json). */
import * as vscode from 'vscode';
import {
  CodeAction,
  CodeActionRequest,
  CodeActionResolveRequest,
  CodeActionTriggerKind,
  Command,
  ExecuteCommandRequest,
} from 'vscode-languageclient/node';
import { findGenerateTests, isBareCommand, needsResolve } from './core/codeActions';
import { run } from './core/process';
import { SECTION } from './core/settings';
import { Controller } from './controller';
import { SHOW_LOG_COMMAND } from './statusBar';

const DOCTOR_TIMEOUT_MS = 180_000;

export function registerCommands(controller: Controller): vscode.Disposable[] {
  let doctorChannel: vscode.OutputChannel | undefined;
  return [
    vscode.commands.registerCommand('ghostline.restartServer', () => controller.restart()),
    vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => controller.log.show(true)),
    vscode.commands.registerCommand('ghostline.toggleInlineCompletion', toggleInlineCompletion),
    vscode.commands.registerCommand('ghostline.generateTests', () => generateTests(controller)),
    vscode.commands.registerCommand('ghostline.runDoctor', async () => {
      doctorChannel ??= vscode.window.createOutputChannel('Ghostline Doctor');
      await runDoctor(controller, doctorChannel);
    }),
    { dispose: () => doctorChannel?.dispose() },
  ];
}

/** Flips `ghostline.enabled` where it is set (workspace if set there, else user settings). */
async function toggleInlineCompletion(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<boolean>('enabled');
  const target =
    inspected?.workspaceValue !== undefined
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  const next = !(config.get<boolean>('enabled') ?? true);
  await config.update('enabled', next, target);
  vscode.window.setStatusBarMessage(`Ghostline inline completion ${next ? 'on' : 'off'}`, 3000);
}

/** Asks the server for its "Generate tests for NAME" action at the cursor and applies it. */
async function generateTests(controller: Controller): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const client = controller.languageClient;
  if (editor === undefined) {
    void vscode.window.showInformationMessage('Open a file and put the cursor inside a function.');
    return;
  }
  if (client === undefined) {
    void vscode.window.showWarningMessage('The Ghostline server is not running; see the log.');
    return;
  }
  const c2p = client.code2ProtocolConverter;
  await vscode.window.withProgress(
    // The server shows its own cancellable progress while it writes the tests.
    { location: vscode.ProgressLocation.Window, title: 'Ghostline: generating tests' },
    async (_progress, token) => {
      const actions = await controller.trackBusy(() =>
        client.sendRequest(
          CodeActionRequest.type,
          {
            textDocument: c2p.asTextDocumentIdentifier(editor.document),
            range: c2p.asRange(editor.selection),
            context: { diagnostics: [], triggerKind: CodeActionTriggerKind.Invoked },
          },
          token,
        ),
      );
      const found = findGenerateTests(actions);
      if (found === undefined) {
        void vscode.window.showInformationMessage(
          'Ghostline: no function at the cursor to generate tests for.',
        );
        return;
      }
      const action: CodeAction | Command = needsResolve(found)
        ? await controller.trackBusy(() =>
            client.sendRequest(CodeActionResolveRequest.type, found as CodeAction, token),
          )
        : found;
      if (token.isCancellationRequested) {
        return;
      }
      const command = isBareCommand(action) ? (action as Command) : (action as CodeAction).command;
      const edit = isBareCommand(action) ? undefined : (action as CodeAction).edit;
      if (edit !== undefined) {
        const converted = await client.protocol2CodeConverter.asWorkspaceEdit(edit, token);
        if (!(await vscode.workspace.applyEdit(converted))) {
          void vscode.window.showErrorMessage('Ghostline: the generated tests could not be applied.');
          return;
        }
        await revealOtherFile(converted, editor.document.uri);
      }
      if (command !== undefined) {
        await controller.trackBusy(() =>
          client.sendRequest(
            ExecuteCommandRequest.type,
            { command: command.command, arguments: command.arguments },
            token,
          ),
        );
      }
      if (edit === undefined && command === undefined) {
        void vscode.window.showWarningMessage('Ghostline: the server returned no tests; see the log.');
      }
    },
  );
}

/** Opens the first file the edit touched other than the current one (the new test file). */
async function revealOtherFile(edit: vscode.WorkspaceEdit, current: vscode.Uri): Promise<void> {
  const other = edit.entries().find(([uri]) => uri.toString() !== current.toString());
  if (other !== undefined) {
    await vscode.window.showTextDocument(other[0], { preview: false });
  }
}

/** Runs `<python> -m ghostline doctor` and shows its report. */
async function runDoctor(controller: Controller, channel: vscode.OutputChannel): Promise<void> {
  const interpreter = controller.interpreter ?? (await controller.resolveInterpreter());
  channel.clear();
  channel.show(true);
  channel.appendLine(`$ ${interpreter.command} -m ghostline doctor`);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Ghostline doctor' },
    () =>
      run(interpreter.command, ['-m', 'ghostline', 'doctor'], {
        timeoutMs: DOCTOR_TIMEOUT_MS,
        cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      }),
  );
  if (result.stdout) {
    channel.append(result.stdout);
  }
  if (result.stderr) {
    channel.append(result.stderr);
  }
  channel.appendLine(
    result.error !== undefined ? `[doctor did not run: ${result.error}]` : `[exit code ${String(result.code)}]`,
  );
}
