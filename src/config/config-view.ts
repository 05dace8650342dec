import path from 'node:path';
import { authConfigView, type AuthView } from './auth.js';
import type { GlobalOptions } from './global-options.js';

/** rkt's `paths` entry: where the data lives and where the stage1 comes from. */
export interface PathsView {
  rktVersion: 'v1';
  rktKind: 'paths';
  data: string;
  'stage1-images': string;
}

/** rkt's `stage1` entry: the default stage1 (Capsule's is the nspawn flavour run by its helper). */
export interface Stage1View {
  rktVersion: 'v1';
  rktKind: 'stage1';
  name: string;
  version: string;
  location: string;
}

/** `capsule config`: rkt's `{"stage0": [...]}`. */
export interface ConfigView {
  stage0: Array<AuthView | PathsView | Stage1View>;
}

/** The configuration directories in precedence order (system < local < user). */
export function configDirsOf(g: GlobalOptions): string[] {
  return [g.systemConfig, g.localConfig, ...(g.userConfig === undefined ? [] : [g.userConfig])];
}

/**
 * The merged configuration as Capsule uses it: auth and dockerAuth entries from every `auth.d`
 * (secrets redacted), then the effective paths and stage1. `libexecDir` holds the stage1 helper.
 */
export function configView(g: GlobalOptions, o: { libexecDir: string; version: string }): ConfigView {
  return {
    stage0: [
      ...authConfigView(configDirsOf(g)),
      { rktVersion: 'v1', rktKind: 'paths', data: g.dir, 'stage1-images': o.libexecDir },
      { rktVersion: 'v1', rktKind: 'stage1', name: 'capsule/stage1-nspawn', version: o.version, location: path.join(o.libexecDir, 'capsule-stage1') },
    ],
  };
}
