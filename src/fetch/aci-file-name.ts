import fs from 'node:fs';
import { decompress } from '../aci/decompress.js';
import { readAci } from '../aci/read-aci.js';

/**
 * The name an ACI file's manifest claims, or null when it cannot be read. Unverified: for
 * messages only (the untrusted-key hint names the prefix to trust), never for a decision.
 */
export async function claimedAciName(file: string): Promise<string | null> {
  const stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    const { manifest } = await readAci(decompress(stream as AsyncIterable<Buffer>), undefined);
    return manifest.name;
  } catch {
    return null;
  } finally {
    stream.destroy();
  }
}
