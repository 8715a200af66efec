/** Entry point: VS Code calls `activate` when a supported language's file opens. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Controller } from './controller';
import { LANGUAGE_IDS } from './core/languages';

let controller: Controller | undefined;

/** What `activate` returns (the extension's exports). */
export interface GhostlineApi {
  /** Settles when the first start attempt is over (server running, or the failure shown). */
  readonly started: Promise<void>;
}

export function activate(context: vscode.ExtensionContext): GhostlineApi {
  // Read by the editor context menu's `when` clause (package.json).
  void vscode.commands.executeCommand('setContext', 'ghostline.languages', LANGUAGE_IDS);
  controller = new Controller();
  context.subscriptions.push(controller, ...registerCommands(controller));
  // Not awaited: a slow interpreter or model must not hold up VS Code's activation.
  return { started: controller.start() };
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
