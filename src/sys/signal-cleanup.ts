import fs from 'node:fs';

/**
 * Files and directories this process is filling in private (an import's temp blob and tree under
 * cas/tmp) that must not outlive it when it is told to stop: on SIGTERM or SIGINT they are removed
 * synchronously, then the signal is raised again with its default action, so the exit status is
 * the signal's as before (issue 12 §5). SIGKILL leaves them to `image gc`. A path that was renamed
 * into place or removed meanwhile costs nothing: every name registered here is unique to this
 * process (tempName), so nothing else can be at it.
 */
const paths = new Set<string>();
let installed = false;

function onSignal(sig: NodeJS.Signals): void {
  for (const p of paths) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      /* best effort: image gc removes what is left */
    }
  }
  paths.clear();
  process.removeListener('SIGTERM', onSignal);
  process.removeListener('SIGINT', onSignal);
  process.kill(process.pid, sig);
}

/** Registers `p` for removal if the process is stopped by SIGTERM or SIGINT; returns the unregistration. */
export function removeOnSignal(p: string): () => void {
  if (!installed) {
    installed = true;
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  paths.add(p);
  return () => paths.delete(p);
}
