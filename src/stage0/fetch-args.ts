import { UsageError } from '../errors/capsule-error.js';

export interface FetchArg {
  arg: string;
  /** `--signature` for this image; absent: beside the image (X.aci.asc), or from its URL. */
  signature?: string;
}

/**
 * Pairs `fetch`'s images with their `--signature` files, one file per flag, in either spelling:
 * rkt's, where a `--signature` follows its image (`fetch a.aci --signature a.asc b.aci`), or all
 * of them before the images, one per image in order (`fetch --signature a.asc --signature b.asc
 * a.aci b.aci`). `argv` is the command's own words; `valueFlags` are its other flags that take a
 * value (their value is not an image).
 */
export function pairSignatures(argv: readonly string[], valueFlags: ReadonlySet<string>): FetchArg[] {
  const images: FetchArg[] = [];
  const leading: string[] = [];
  let trailing = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') throw new UsageError('app arguments unsupported');
    let sig: string | undefined;
    if (a === '--signature') {
      sig = argv[++i];
      if (sig === undefined) throw new UsageError('flag needs an argument: --signature');
    } else if (a.startsWith('--signature=')) sig = a.slice('--signature='.length);
    if (sig !== undefined) {
      if (sig === '') throw new UsageError('--signature needs a file name');
      const last = images.at(-1);
      if (last === undefined) leading.push(sig);
      else {
        if (last.signature !== undefined) throw new UsageError(`--signature given twice for ${JSON.stringify(last.arg)}`);
        last.signature = sig;
        trailing = true;
      }
      continue;
    }
    if (a.startsWith('-') && a !== '-') {
      if (valueFlags.has(a)) i++;
      continue;
    }
    images.push({ arg: a });
  }
  if (leading.length === 0) return images;
  if (trailing) throw new UsageError('give each --signature after its image (rkt), or all of them before the images, one per image in order; not both');
  if (leading.length !== images.length) {
    throw new UsageError(`--signature given ${leading.length} time(s) before ${images.length} image(s): give one per image, in order, or each one after its image`);
  }
  return images.map((img, i) => ({ ...img, signature: leading[i] }));
}
