/** Entry point: VS Code calls `activate` when a supported language's file opens. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Controller } from './controller';
import { LANGUAGE_IDS } from './core/languages';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  // Read by the editor context menu's `when` clause (package.json).
  void vscode.commands.executeCommand('setContext', 'ghostline.languages', LANGUAGE_IDS);
  controller = new Controller();
  context.subscriptions.push(controller, ...registerCommands(controller));
  await controller.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
