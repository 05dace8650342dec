import { CapsuleError } from '../errors/capsule-error.js';
import { type AcIdentifier, parseAcIdentifier, parseAcName } from './ac-identifier.js';
import { parseImageId, type ImageId } from './image-id.js';
import { parseStrictManifestJson } from './json-limits.js';
import { validateOsArch } from './os-arch.js';
import { parseSemVer } from './semver.js';
import { validateIsolators, type Isolator } from './isolators.js';

export interface Label { name: string; value: string }
export interface Annotation { name: string; value: string }
export interface EnvVar { name: string; value: string }
export interface MountPoint { name: string; path: string; readOnly?: boolean }
export interface Port { name: string; protocol: string; port: number; count?: number; socketActivated?: boolean }
export interface EventHandler { name: 'pre-start' | 'post-stop'; exec: string[] }

export interface App {
  exec?: string[];
  user: string;
  group: string;
  supplementaryGIDs?: number[];
  eventHandlers?: EventHandler[];
  workingDirectory?: string;
  environment?: EnvVar[];
  isolators?: Isolator[];
  mountPoints?: MountPoint[];
  ports?: Port[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

export interface Dependency { imageName: AcIdentifier; imageID?: ImageId; labels?: Label[]; size?: number }

/** A validated appc image manifest. Validated is not trusted: trust comes from verify/. */
export interface ImageManifest {
  acKind: 'ImageManifest';
  acVersion: string;
  name: AcIdentifier;
  labels?: Label[];
  app?: App;
  dependencies?: Dependency[];
  pathWhitelist?: string[];
  annotations?: Annotation[];
}

const bad = (field: string, why: string): CapsuleError => new CapsuleError('invalid-manifest', `${field}: ${why}`);

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, 'must be an object');
  return v as Record<string, unknown>;
}
function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  return v;
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  return v;
}
function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
  return v;
}
function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(field, `must be an integer from ${min} to ${max}`);
  return v;
}
function absPath(v: unknown, field: string): string {
  const s = str(v, field);
  if (!s.startsWith('/')) throw bad(field, `${JSON.stringify(s)} must be an absolute path`);
  if (s.includes('\0') || s.includes('\n')) throw bad(field, 'must not contain NUL or newline characters');
  return s;
}
function stringMap(v: unknown, field: string): Record<string, string> {
  const o = obj(v, field);
  for (const [k, val] of Object.entries(o)) str(val, `${field}.${k}`);
  return o as Record<string, string>;
}

function nameValues(v: unknown, field: string, kind: string): { name: string; value: string }[] {
  const seen = new Set<string>();
  return arr(v, field).map((item, i) => {
    const o = obj(item, `${field}[${i}]`);
    const name = parseAcIdentifier(str(o.name, `${field}[${i}].name`), `${field}[${i}].name`);
    const value = str(o.value, `${field}[${i}].value`);
    if (seen.has(name)) throw bad(field, `duplicate ${kind} of name ${JSON.stringify(name)}`);
    seen.add(name);
    return { name, value };
  });
}

export function parseLabels(v: unknown, field = 'labels'): Label[] {
  const labels = nameValues(v, field, 'labels');
  for (const l of labels) if (l.name === 'name') throw bad(field, 'invalid label name: "name"');
  const get = (n: string): string | undefined => labels.find((l) => l.name === n)?.value;
  try {
    validateOsArch(get('os'), get('arch'));
  } catch (e) {
    throw bad(field, (e as Error).message);
  }
  return labels;
}

function parseAnnotations(v: unknown, field: string): Annotation[] {
  const anns = nameValues(v, field, 'annotations');
  for (const a of anns) {
    if (a.name === 'created' && Number.isNaN(Date.parse(a.value)) || (a.name === 'created' && !/^\d{4}-\d{2}-\d{2}T/.test(a.value))) {
      throw bad(`${field}.created`, `${JSON.stringify(a.value)} is not an RFC 3339 date-time`);
    }
    if ((a.name === 'homepage' || a.name === 'documentation') && !/^https?:\/\//.test(a.value)) {
      throw bad(`${field}.${a.name}`, 'bad URL scheme, must be http/https');
    }
  }
  return anns;
}

function parseApp(v: unknown, field: string): App {
  const o = obj(v, field);
  if (o.user === undefined || o.user === '') throw bad(`${field}.user`, 'user is required');
  if (o.group === undefined || o.group === '') throw bad(`${field}.group`, 'group is required');
  const app: App = { user: str(o.user, `${field}.user`), group: str(o.group, `${field}.group`) };
  if (o.exec !== undefined && o.exec !== null) {
    app.exec = arr(o.exec, `${field}.exec`).map((a, i) => {
      const s = str(a, `${field}.exec[${i}]`);
      if (s.includes('\0')) throw bad(`${field}.exec[${i}]`, 'must not contain NUL');
      return s;
    });
  }
  const gids = o.supplementaryGIDs ?? o.supplementaryGids;
  if (gids !== undefined && gids !== null) app.supplementaryGIDs = arr(gids, `${field}.supplementaryGIDs`).map((g, i) => int(g, `${field}.supplementaryGIDs[${i}]`, 0, 2 ** 32 - 1));
  if (o.eventHandlers !== undefined && o.eventHandlers !== null) {
    const seen = new Set<string>();
    app.eventHandlers = arr(o.eventHandlers, `${field}.eventHandlers`).map((h, i) => {
      const ho = obj(h, `${field}.eventHandlers[${i}]`);
      const name = str(ho.name, `${field}.eventHandlers[${i}].name`);
      if (name !== 'pre-start' && name !== 'post-stop') throw bad(`${field}.eventHandlers[${i}].name`, `unknown event handler ${JSON.stringify(name)}`);
      if (seen.has(name)) throw bad(`${field}.eventHandlers`, `only one eventHandler of name ${JSON.stringify(name)} allowed`);
      seen.add(name);
      return { name, exec: arr(ho.exec, `${field}.eventHandlers[${i}].exec`).map((a, j) => str(a, `${field}.eventHandlers[${i}].exec[${j}]`)) };
    });
  }
  if (o.workingDirectory !== undefined && o.workingDirectory !== '') {
    const wd = str(o.workingDirectory, `${field}.workingDirectory`);
    if (!wd.startsWith('/')) throw bad(`${field}.workingDirectory`, 'workingDirectory must be an absolute path');
    app.workingDirectory = wd;
  }
  if (o.environment !== undefined && o.environment !== null) {
    const seen = new Set<string>();
    app.environment = arr(o.environment, `${field}.environment`).map((e, i) => {
      const eo = obj(e, `${field}.environment[${i}]`);
      const name = str(eo.name, `${field}.environment[${i}].name`);
      if (!/^[A-Za-z_][A-Za-z_0-9.-]*$/.test(name)) throw bad(`${field}.environment[${i}].name`, `invalid environment variable name ${JSON.stringify(name)}`);
      if (seen.has(name)) throw bad(`${field}.environment`, `duplicate environment variable ${JSON.stringify(name)}`);
      seen.add(name);
      return { name, value: str(eo.value, `${field}.environment[${i}].value`) };
    });
  }
  if (o.isolators !== undefined && o.isolators !== null) app.isolators = validateIsolators(o.isolators, `${field}.isolators`);
  if (o.mountPoints !== undefined && o.mountPoints !== null) {
    app.mountPoints = arr(o.mountPoints, `${field}.mountPoints`).map((m, i) => {
      const mo = obj(m, `${field}.mountPoints[${i}]`);
      const mp: MountPoint = { name: parseAcName(str(mo.name, `${field}.mountPoints[${i}].name`), `${field}.mountPoints[${i}].name`), path: absPath(mo.path, `${field}.mountPoints[${i}].path`) };
      if (mo.readOnly !== undefined) mp.readOnly = bool(mo.readOnly, `${field}.mountPoints[${i}].readOnly`);
      return mp;
    });
  }
  if (o.ports !== undefined && o.ports !== null) {
    app.ports = arr(o.ports, `${field}.ports`).map((p, i) => {
      const f = `${field}.ports[${i}]`;
      const po = obj(p, f);
      const port: Port = { name: parseAcName(str(po.name, `${f}.name`), `${f}.name`), protocol: str(po.protocol, `${f}.protocol`), port: int(po.port, `${f}.port`, 1, 65535) };
      if (po.count !== undefined) port.count = int(po.count, `${f}.count`, 1, 65535);
      if (port.port + (port.count ?? 1) > 65536) throw bad(f, 'port range exceeds 65535');
      if (po.socketActivated !== undefined) port.socketActivated = bool(po.socketActivated, `${f}.socketActivated`);
      return port;
    });
  }
  if (o.userAnnotations !== undefined && o.userAnnotations !== null) app.userAnnotations = stringMap(o.userAnnotations, `${field}.userAnnotations`);
  if (o.userLabels !== undefined && o.userLabels !== null) app.userLabels = stringMap(o.userLabels, `${field}.userLabels`);
  return app;
}

/** Validates a parsed manifest object; every error names the offending field. */
export function validateImageManifest(v: unknown): ImageManifest {
  const o = obj(v, 'manifest');
  if (o.acKind !== 'ImageManifest') throw bad('acKind', `missing or bad ACKind (must be "ImageManifest")`);
  if (o.acVersion === undefined || o.acVersion === '') throw bad('acVersion', 'acVersion must be set');
  const acVersion = str(o.acVersion, 'acVersion');
  parseSemVer(acVersion, 'acVersion');
  if (o.name === undefined || o.name === '') throw bad('name', 'name must be set');
  const m: ImageManifest = { acKind: 'ImageManifest', acVersion, name: parseAcIdentifier(str(o.name, 'name'), 'name') };
  if (o.labels !== undefined && o.labels !== null) m.labels = parseLabels(o.labels);
  if (o.app !== undefined && o.app !== null) m.app = parseApp(o.app, 'app');
  if (o.dependencies !== undefined && o.dependencies !== null) {
    m.dependencies = arr(o.dependencies, 'dependencies').map((d, i) => {
      const f = `dependencies[${i}]`;
      const dobj = obj(d, f);
      if (dobj.imageName === undefined || dobj.imageName === '') throw bad(`${f}.imageName`, 'imageName cannot be empty');
      const dep: Dependency = { imageName: parseAcIdentifier(str(dobj.imageName, `${f}.imageName`), `${f}.imageName`) };
      if (dobj.imageID !== undefined) {
        try {
          dep.imageID = parseImageId(str(dobj.imageID, `${f}.imageID`));
        } catch (e) {
          throw bad(`${f}.imageID`, (e as Error).message);
        }
      }
      if (dobj.labels !== undefined && dobj.labels !== null) dep.labels = parseLabels(dobj.labels, `${f}.labels`);
      if (dobj.size !== undefined) dep.size = int(dobj.size, `${f}.size`, 0, Number.MAX_SAFE_INTEGER);
      return dep;
    });
  }
  if (o.pathWhitelist !== undefined && o.pathWhitelist !== null) {
    // One spelling per path (issue 12 §3): '.', '..', empty components or a repeat would let two
    // renderers disagree about what the list keeps.
    const seen = new Set<string>();
    m.pathWhitelist = arr(o.pathWhitelist, 'pathWhitelist').map((p, i) => {
      const f = `pathWhitelist[${i}]`;
      const s = absPath(p, f);
      const parts = s.split('/').slice(1);
      if (s !== '/' && parts.some((c) => c === '' || c === '.' || c === '..')) throw bad(f, `${JSON.stringify(s)} must be a clean path (no ".", ".." or empty components)`);
      if (seen.has(s)) throw bad(f, `${JSON.stringify(s)} is listed twice`);
      seen.add(s);
      return s;
    });
  }
  if (o.annotations !== undefined && o.annotations !== null) m.annotations = parseAnnotations(o.annotations, 'annotations');
  return m;
}

export function parseImageManifest(text: string): ImageManifest {
  return validateImageManifest(parseStrictManifestJson(text, 'manifest'));
}

export function labelValue(m: { labels?: Label[] }, name: string): string | undefined {
  return m.labels?.find((l) => l.name === name)?.value;
}
