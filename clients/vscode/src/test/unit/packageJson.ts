/** package.json as the tests see it (the contributed settings are the single source of defaults). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EXTENSION_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface SettingSchema {
  readonly type: string;
  readonly default: unknown;
  readonly scope?: string;
}

export interface PackageJson {
  readonly main: string;
  readonly engines: { readonly vscode: string };
  readonly activationEvents: string[];
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
  readonly contributes: {
    readonly configuration: { readonly properties: Record<string, SettingSchema> };
    readonly commands: { readonly command: string; readonly title: string }[];
    readonly keybindings: { readonly command: string; readonly key: string; readonly when: string }[];
  };
}

export function readPackageJson(): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** `ghostline.<key>` defaults from package.json, keyed without the prefix. */
export function contributedDefaults(): Map<string, unknown> {
  const props = readPackageJson().contributes.configuration.properties;
  return new Map(
    Object.entries(props).map(([name, schema]) => [name.replace(/^ghostline\./, ''), schema.default]),
  );
}
