import { CapsuleError } from '../../errors/capsule-error.js';
import type { Annotation } from '../../spec/image-manifest.js';

/** The pod annotation that sets how long the other apps go on after one app failed. */
export const STOP_GRACE_ANNOTATION = 'capsule.io/stop-grace-period';

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
/** At most an hour: longer means the pod never really stops on a failure. */
const MAX_MS = 3_600_000;

/**
 * The grace period (ms) the pod's annotations ask for, or undefined without the annotation.
 * Values are Go-style durations in ms, s or m (`0`, `500ms`, `2s`, `1m30s`).
 */
export function stopGraceMs(annotations: readonly Annotation[] | undefined): number | undefined {
  const a = annotations?.find((x) => x.name === STOP_GRACE_ANNOTATION);
  if (!a) return undefined;
  const bad = (): CapsuleError => new CapsuleError('invalid-annotation', `pod annotation ${STOP_GRACE_ANNOTATION}: invalid duration ${JSON.stringify(a.value)} (examples: 0, 500ms, 2s; at most 1h)`);
  if (a.value === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(a.value)) !== null) {
    total += Number(m[1]) * (UNIT[m[2] ?? ''] ?? 0);
    pos = re.lastIndex;
  }
  if (a.value === '' || pos !== a.value.length || total > MAX_MS) throw bad();
  return Math.round(total);
}
