import { constants } from 'node:os';
import { CapsuleError } from '../errors/capsule-error.js';

/** glibc's SIGRTMIN and SIGRTMAX on Linux (the kernel's 32 and 33 are glibc's own). */
const RTMIN = 34;
const RTMAX = 64;

/**
 * A signal as an OCI config's StopSignal names it (`SIGQUIT`, `QUIT`, `SIGRTMIN+3`, `9`), as a
 * Linux signal number. SIGKILL and SIGSTOP are accepted (docker does), anything unknown is refused.
 */
export function parseSignal(s: string, what = 'signal'): number {
  const bad = (): CapsuleError => new CapsuleError('invalid-signal', `invalid ${what} ${JSON.stringify(s)}`);
  const t = s.trim().toUpperCase();
  if (/^[0-9]+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > RTMAX) throw bad();
    return n;
  }
  const name = t.startsWith('SIG') ? t : `SIG${t}`;
  const rt = /^SIGRTM(IN|AX)(?:([+-])([0-9]+))?$/.exec(name);
  if (rt) {
    const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1);
    const n = (rt[1] === 'IN' ? RTMIN : RTMAX) + off;
    if (n < RTMIN || n > RTMAX) throw bad();
    return n;
  }
  const n = (constants.signals as Record<string, number | undefined>)[name];
  if (n === undefined) throw bad();
  return n;
}
