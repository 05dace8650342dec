import { terminalSafe } from '../errors/terminal-text.js';
import type { ImageId } from '../spec/image-id.js';
import type { ImageManifest } from '../spec/image-manifest.js';
import type { VerifiedSignature } from '../verify/signature.js';

/** What fetching tells the user along the way; `review` asks about a discovered key on a terminal. */
export interface FetchHooks {
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  progress(label: string, total: number | undefined): { add(n: number): void; done(): void };
  review?: { show(text: string): void; ask(): Promise<boolean> };
}

export interface Fetched {
  id: ImageId;
  manifest: ImageManifest;
}

/** rkt's report after a verified signature: `image: signature verified:` and the signer's identities. */
export function reportSigner(hooks: Pick<FetchHooks, 'info'>, signer: VerifiedSignature | undefined): void {
  if (signer) hooks.info(`signature verified:\n${signer.userIds.map((u) => `  ${terminalSafe(u)}`).join('\n')}`);
}
