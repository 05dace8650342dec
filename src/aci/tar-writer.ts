import { Header, Pax } from 'tar';

export interface TarHeaderFields {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
}

/**
 * Encodes one tar header (with a PAX header first when a field does not fit ustar).
 * Writes exactly what it is given: no path cleaning, so tests can also build hostile archives.
 */
export function encodeHeader(f: TarHeaderFields): Buffer {
  const fields = {
    path: f.path,
    type: f.type,
    mode: f.mode,
    uid: f.uid ?? 0,
    gid: f.gid ?? 0,
    size: f.size ?? 0,
    mtime: f.mtime ?? new Date(0),
    linkpath: f.linkpath ?? '',
    uname: '',
    gname: '',
    devmaj: f.devmaj ?? 0,
    devmin: f.devmin ?? 0,
  };
  const block = Buffer.alloc(512);
  const h = new Header(fields);
  const needPax = h.encode(block, 0);
  if (!needPax) return block;
  const pax = new Pax({ path: f.path, linkpath: f.linkpath ?? '', size: f.size ?? 0, uid: f.uid ?? 0, gid: f.gid ?? 0, mtime: fields.mtime }, false).encode();
  const short = new Header({ ...fields, path: f.path.slice(-99), linkpath: (f.linkpath ?? '').slice(-99) });
  const block2 = Buffer.alloc(512);
  short.encode(block2, 0);
  return Buffer.concat([pax, block2]);
}

export function padding(size: number): Buffer {
  const rem = size % 512;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - rem);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);
