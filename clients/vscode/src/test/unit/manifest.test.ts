import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LANGUAGE_IDS, documentSelector } from '../../core/languages';
import { EXTENSION_ROOT, readPackageJson } from './packageJson';

describe('package.json manifest', () => {
  const pkg = readPackageJson();

  it('activates on every language the client sends to the server', () => {
    assert.deepEqual(
      [...pkg.activationEvents].sort(),
      LANGUAGE_IDS.map((id) => `onLanguage:${id}`).sort(),
    );
  });

  it('selects files and untitled buffers of each language', () => {
    const selector = documentSelector();
    assert.equal(selector.length, LANGUAGE_IDS.length * 2);
    assert.ok(selector.some((f) => f.scheme === 'untitled' && f.language === 'python'));
  });

  it('binds accept-line to VS Code’s own inline suggestion command', () => {
    const binding = pkg.contributes.keybindings.find(
      (k) => k.command === 'editor.action.inlineSuggest.acceptNextLine',
    );
    assert.ok(binding);
    assert.match(binding.when, /inlineSuggestionVisible/);
  });

  it('requires a VS Code at least as new as vscode-languageclient does', () => {
    const clientPkg = JSON.parse(
      fs.readFileSync(path.join(EXTENSION_ROOT, 'node_modules', 'vscode-languageclient', 'package.json'), 'utf8'),
    ) as { version: string; engines: { vscode: string } };
    assert.equal(clientPkg.version.split('.')[0], '11');
    assert.equal(pkg.engines.vscode, clientPkg.engines.vscode);
    const typesVersion = pkg.devDependencies['@types/vscode'];
    assert.ok(typesVersion !== undefined && pkg.engines.vscode.endsWith(typesVersion), 'types match engine');
  });

  it('ships the esbuild bundle as main, with vscode left external', () => {
    assert.equal(pkg.main, './dist/extension.js');
    const bundle = fs.readFileSync(path.join(EXTENSION_ROOT, pkg.main), 'utf8');
    assert.match(bundle, /require\("vscode"\)/);
    assert.doesNotMatch(bundle, /require\("vscode-languageclient/);
  });
});
