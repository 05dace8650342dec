/**
 * What the pod commands read from a pod's manifest (`pod`, an appc PodManifest written by
 * stage0): app names, their images, user annotations and labels. Read leniently: a listing shows
 * `-` for what it cannot read instead of failing.
 */
export interface PodAppView {
  name: string;
  imageName: string;
  /** `sha512-…` as the manifest records it; '' when absent. */
  imageId: string;
  imageLabels: Record<string, string>;
  /** The manifest's `app` section for this app (for export), or undefined. */
  app: unknown;
}

export interface PodManifestView {
  apps: PodAppView[];
  userAnnotations: Record<string, string>;
  userLabels: Record<string, string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** appc's `[{name, value}]` lists, or a plain object (user annotations and labels). */
function nameValues(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const e of v) if (isObj(e) && typeof e.name === 'string' && typeof e.value === 'string') out[e.name] = e.value;
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return out;
}

/** null when `text` is not a pod manifest at all. */
export function parsePodManifestView(text: string): PodManifestView | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(v) || !Array.isArray(v.apps)) return null;
  const apps: PodAppView[] = [];
  for (const a of v.apps) {
    if (!isObj(a)) continue;
    const image = isObj(a.image) ? a.image : {};
    apps.push({ name: str(a.name), imageName: str(image.name), imageId: str(image.id), imageLabels: nameValues(image.labels), app: a.app });
  }
  return { apps, userAnnotations: nameValues(v.userAnnotations), userLabels: nameValues(v.userLabels) };
}

/** rkt's IMAGE NAME: `name:version` when the image has a version label. */
export function imageDisplayName(a: PodAppView): string {
  const v = a.imageLabels.version;
  return v ? `${a.imageName}:${v}` : a.imageName;
}
