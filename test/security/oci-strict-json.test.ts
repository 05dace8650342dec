// OCI documents that could mean two things: a digested manifest, config or index.json is read
// strictly (src/spec/strict-json.ts), so no other reader can take the same bytes for another
// image. Each is refused with one line naming the document and the problem; nothing is stored and
// the victim beside the store stays untouched.
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { buildImage, OCI, sha256, writeLayout, type Blob, type BuiltImage } from '../helpers/oci-images.js';
import { snapshot } from '../helpers/victim.js';
import { useVictimWorld } from '../helpers/victim-world.js';

const v = useVictimWorld();

const blob = (bytes: Buffer, mediaType: string): Blob => ({ digest: sha256(bytes), size: bytes.length, mediaType, bytes });

function image(): BuiltImage {
  return buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }] });
}

/** The image with its manifest rewritten by `edit` (text), re-digested. */
function withManifestText(img: BuiltImage, edit: (t: string) => string): Blob {
  return blob(Buffer.from(edit(img.manifest.bytes.toString('utf8'))), OCI.manifest);
}

async function refused(dir: string, problem: RegExp): Promise<void> {
  const before = snapshot(v.world.base, v.world.dir);
  const r = await v.world.run(['--insecure-options=image', 'fetch', `oci:${dir}`]);
  await v.expectRefusal(r, before, problem);
}

describe('OCI JSON that two readers would read differently', () => {
  it('a manifest with "layers" twice (the digested bytes must mean one image)', async () => {
    const img = image();
    // JSON.parse keeps the last "layers": a lenient reader would see the real layer, another the empty list.
    const m = withManifestText(img, (t) => t.replace('"layers":[', '"layers":[],"layers":['));
    const dir = writeLayout(path.join(v.world.base, 'layout'), [{ top: m }], [img.config, ...img.layers]);
    await refused(dir, /manifest.*duplicate key "layers"/);
  });

  it('a config with a byte that is not UTF-8', async () => {
    const img = image();
    const text = img.config.bytes.toString('latin1').replace('"os":"linux"', '"os":"linux\xff"');
    const config = blob(Buffer.from(text, 'latin1'), OCI.config);
    const m = withManifestText(img, (t) => t.replace(img.config.digest, config.digest).replace(`"size":${img.config.size}`, `"size":${config.size}`));
    const dir = writeLayout(path.join(v.world.base, 'layout'), [{ top: m }], [config, ...img.layers]);
    await refused(dir, /image config: not valid JSON: not valid UTF-8/);
  });

  it('an index.json with a number out of range', async () => {
    const img = image();
    const dir = writeLayout(path.join(v.world.base, 'layout'), [{ top: img.manifest }], [img.config, ...img.layers]);
    const f = path.join(dir, 'index.json');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('"schemaVersion":2', '"schemaVersion":2e400'));
    await refused(dir, /index\.json: not valid JSON: number 2e400 out of range/);
  });
});
