// Hand-made tar pieces for hostile archives: most tar writers sanitise on create, so they cannot
// produce the shapes the reader must refuse. Shared by the reader's unit tests and test/security.
import { Header } from 'tar';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderFields } from '../../src/aci/tar-writer.js';

export type MetaType = 'ExtendedHeader' | 'GlobalExtendedHeader' | 'NextFileHasLongPath' | 'NextFileHasLongLinkpath';

/** A header (plus body and padding) exactly as given; PAX is added by encodeHeader only when needed. */
export function entry(f: Partial<TarHeaderFields> & { path: string }, body: Buffer | string = ''): Buffer {
  const type = f.type ?? 'File';
  const b = Buffer.from(body);
  return Buffer.concat([encodeHeader({ mode: 0o644, ...f, type, size: f.size ?? (type === 'File' ? b.length : 0) }), b, padding(b.length)]);
}

/** A PAX ("x"/"g") or GNU long-name ("L"/"K") metadata entry. */
export function meta(type: MetaType, body: Buffer | string): Buffer {
  const b = Buffer.from(body);
  const h = Buffer.alloc(512);
  new Header({ path: type.startsWith('Next') ? '././@LongLink' : 'PaxHeader/x', type, size: b.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
  return Buffer.concat([h, b, padding(b.length)]);
}

/** PAX records: "<len> key=value\n", the length counting its own digits. */
export function pax(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([k, v]) => {
      const line = ` ${k}=${v}\n`;
      let n = Buffer.byteLength(line);
      while (n !== Buffer.byteLength(line) + String(n).length) n = Buffer.byteLength(line) + String(n).length;
      return `${n}${line}`;
    })
    .join('');
}

/** Rewrites bytes of a header block and fixes its checksum (hand-made hostile headers). */
export function patched(block: Buffer, edits: [number, Buffer | string][]): Buffer {
  const b = Buffer.from(block);
  for (const [off, bytes] of edits) Buffer.from(bytes as string, typeof bytes === 'string' ? 'latin1' : undefined).copy(b, off);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** A plain file header (no body) whose typeflag byte is `t`. */
export const typed = (t: string, path = 'rootfs/x', size = 0): Buffer => patched(encodeHeader({ path, type: 'File', mode: 0o644, size }), [[156, t]]);

/** The parts followed by the end-of-archive marker. */
export const tarOf = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, END_OF_ARCHIVE]);
