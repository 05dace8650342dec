import { Option, type Command } from 'commander';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { makeCtx, type Ctx } from '../context.js';
import type { Io } from '../io.js';
import { humanAgo, humanSize, longTime, renderJson, renderTable, type Format } from '../table.js';
import { parseDuration } from '../duration.js';
import { shortImageId } from '../../spec/image-id.js';
import type { Store } from '../../store/store.js';
import type { ImageId } from '../../spec/image-id.js';

async function openStore(ctx: Ctx, create: boolean): Promise<Store> {
  const { Store } = await import('../../store/store.js');
  return Store.open(ctx.globals.dir, create);
}

async function withStore<T>(ctx: Ctx, create: boolean, f: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(ctx, create);
  try {
    return await f(s);
  } finally {
    s.close();
  }
}

const FIELDS = ['id', 'name', 'size', 'importtime', 'lastused'] as const;
type Field = (typeof FIELDS)[number];
const HEADERS: Record<Field, string> = { id: 'ID', name: 'NAME', size: 'SIZE', importtime: 'IMPORT TIME', lastused: 'LAST USED' };

function parseFields(s: string): Field[] {
  const out = s.split(',').map((f) => f.trim().toLowerCase());
  for (const f of out) if (!(FIELDS as readonly string[]).includes(f)) throw new UsageError(`unknown field ${JSON.stringify(f)} (want ${FIELDS.join(', ')})`);
  return out as Field[];
}

function registerList(image: Command, io: Io): void {
  image
    .command('list')
    .description('list images in the local store')
    .option('--fields <fields>', `comma-separated fields to show (${FIELDS.join(',')})`, 'id,name,size,importtime,lastused')
    .addOption(new Option('--sort <field>', 'sort by field').choices(['id', 'name', 'size', 'importtime', 'lastused']).default('importtime'))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']).default('asc'))
    .option('--full', 'show full IDs, sizes in bytes and absolute times')
    .option('--no-legend', 'suppress the header line')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'json-pretty']).default('table'))
    .action(async (f: { fields: string; sort: Field; order: 'asc' | 'desc'; full?: boolean; legend: boolean; format: Format }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const fields = parseFields(f.fields);
      const rows = await listRows(ctx);
      const key = (r: (typeof rows)[number]): string | number =>
        ({ id: r.id, name: r.name, size: r.size, importtime: r.importTime, lastused: r.lastUsed })[f.sort];
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const c = x < y ? -1 : x > y ? 1 : 0;
        return f.order === 'asc' ? c : -c;
      });
      if (f.format !== 'table') {
        const { imageJson } = await import('../json-output.js');
        io.out(renderJson(rows.map(imageJson), f.format));
        return;
      }
      const now = Date.now();
      const cell = (r: (typeof rows)[number], fl: Field): string => {
        switch (fl) {
          case 'id':
            return shortImageId(r.id, f.full ? 64 : 12);
          case 'name':
            return r.labels.version ? `${r.name}:${r.labels.version}` : r.name;
          case 'size':
            return f.full ? String(r.size) : humanSize(r.size);
          case 'importtime':
            return f.full ? longTime(r.importTime) : humanAgo(r.importTime, now);
          case 'lastused':
            return f.full ? longTime(r.lastUsed) : humanAgo(r.lastUsed, now);
        }
      };
      io.out(renderTable(fields.map((x) => HEADERS[x]), rows.map((r) => fields.map((x) => cell(r, x))), f.legend));
    });
}

async function listRows(ctx: Ctx): Promise<{ id: ImageId; name: string; labels: Record<string, string>; size: number; importTime: number; lastUsed: number }[]> {
  const { storeLayout } = await import('../../store/layout.js');
  const { existsSync } = await import('node:fs');
  // An empty store has no index yet: answer without loading the database (start-up target).
  if (!existsSync(storeLayout(ctx.globals.dir).dbFile)) return [];
  return withStore(ctx, false, async (s) => {
    const { listImages } = await import('../../store/image-index.js');
    const { treeSizes } = await import('../../store/tree-index.js');
    const trees = treeSizes(s.db);
    return listImages(s.db).map((i) => ({ id: i.id, name: i.name, labels: i.labels, size: i.size + (trees.get(i.id) ?? 0), importTime: i.importTime, lastUsed: i.lastUsed }));
  });
}

export function registerImage(program: Command, io: Io): void {
  const image = program.command('image').description('operate on images in the local store');
  registerList(image, io);

  image
    .command('rm')
    .description('remove image(s) from the local store')
    .argument('<image...>', 'image IDs or names')
    .action(async (args: string[], _f: unknown, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      await withStore(ctx, false, async (s) => {
        const { resolveStoredImage } = await import('../../oci/stored-image.js');
        const { removeImage } = await import('../../store/image-remove.js');
        const { formatError } = await import('../../errors/format.js');
        let ok = 0;
        let failed = 0;
        // A store that was never written has nothing to remove; do not create one to say so.
        const lock = s.exists ? await s.lock('exclusive') : undefined;
        try {
          // Resolve every argument first, as rkt does: an image named twice (by ID and by name,
          // or twice by ID) is removed once and is not then reported as missing.
          const ids = new Set<ImageId>();
          for (const a of args) {
            try {
              ids.add(resolveStoredImage(s, a).id);
            } catch (e) {
              io.err(`${formatError('image rm', e, ctx.globals.debug)}\n`);
              failed++;
            }
          }
          const { storeRefsInUse } = await import('../../stage0/pod/pod-image-refs.js');
          const inUse = (await storeRefsInUse(s, ctx.globals.dir)).trees;
          // A member of the data dir's group cannot remove root's rendered trees: they stay (with
          // their index rows) until root's `image gc` removes trees whose image is gone.
          const { treesOfImage } = await import('../../store/tree-index.js');
          const asUser = (process.getuid?.() ?? 0) !== 0;
          for (const id of ids) {
            try {
              await removeImage(s, id, asUser ? new Set([...inUse, ...treesOfImage(s.db, id).map((t) => t.id)]) : inUse);
              io.out(`successfully removed aci for image: ${JSON.stringify(shortImageId(id, 64))}\n`);
              ok++;
            } catch (e) {
              io.err(`${formatError('image rm', e, ctx.globals.debug)}\n`);
              failed++;
            }
          }
        } finally {
          lock?.release();
        }
        if (ok > 0) io.err(`image rm: ${ok} image(s) successfully removed\n`);
        if (failed > 0) throw new CapsuleError('rm-failed', `${failed} image(s) cannot be removed`);
      });
    });

  image
    .command('cat-manifest')
    .description('print the manifest of an image')
    .argument('[image]')
    .option('--pretty-print [bool]', 'indent the JSON (true or false)', 'true')
    .option('--config', "OCI images: print the image's config instead of its manifest")
    .action(async (arg: string | undefined, f: { prettyPrint: string | boolean; config?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      // rkt's bool flag: a bare `--pretty-print` never takes the next word, but commander's
      // optional value does; give that word back as the image argument.
      let pretty = f.prettyPrint;
      if (typeof pretty === 'string' && pretty !== 'true' && pretty !== 'false') {
        if (arg !== undefined) throw new UsageError(`invalid value ${JSON.stringify(pretty)} for --pretty-print (want true or false)`);
        arg = pretty;
        pretty = true;
      }
      if (arg === undefined) throw new UsageError("missing required argument 'image'");
      const image = arg;
      await withStore(ctx, false, async (s) => {
        const { resolveStoredImage } = await import('../../oci/stored-image.js');
        const img = resolveStoredImage(s, image);
        let manifestText = img.manifestText;
        if (img.kind === 'oci') {
          // The OCI manifest (or config) exactly as fetched, from its CAS blob.
          const { ociManifestText } = await import('../../store/oci-render.js');
          manifestText = await ociManifestText(s, img, f.config === true ? 'config' : 'manifest');
        } else if (f.config === true) throw new CapsuleError('not-oci', `image ${JSON.stringify(image)} is an ACI; --config applies to OCI images`);
        // Without pretty-printing: the image's own manifest text, byte for byte (not re-serialised).
        const text = pretty === true || pretty === 'true' ? JSON.stringify(JSON.parse(manifestText), null, '\t') : manifestText;
        io.out(text.endsWith('\n') ? text : `${text}\n`);
      });
    });

  image
    .command('export')
    .description('export an image from the store: an ACI as an uncompressed ACI, byte-identical to the original; an OCI image as an oci-archive')
    .argument('<image>')
    .argument('<out>')
    .option('--overwrite', 'overwrite the output file')
    .action(async (arg: string, out: string, f: { overwrite?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      await withStore(ctx, false, async (s) => {
        const { resolveStoredImage } = await import('../../oci/stored-image.js');
        const { exportImage } = await import('../../store/image-output.js');
        await exportImage(s, resolveStoredImage(s, arg), out, f.overwrite === true);
      });
    });

  for (const [name, withDeps, desc] of [
    ['extract', false, 'extract an image (alone) to a directory'],
    ['render', true, 'render an image with its dependencies to a directory, as an app sees it'],
  ] as const) {
    image
      .command(name)
      .description(desc)
      .argument('<image>')
      .argument('<dir>')
      .option('--rootfs-only', 'write only the rootfs into DIR')
      .option('--overwrite', 'replace DIR when it exists')
      .action(async (arg: string, dir: string, f: { rootfsOnly?: boolean; overwrite?: boolean }, cmd: Command) => {
        const ctx = makeCtx(cmd, io);
        await withStore(ctx, false, async (s) => {
          const { resolveStoredImage } = await import('../../oci/stored-image.js');
          const { writeImageTree } = await import('../../store/image-output.js');
          await writeImageTree(s, resolveStoredImage(s, arg), dir, { withDependencies: withDeps, rootfsOnly: f.rootfsOnly === true, overwrite: f.overwrite === true });
        });
      });
  }

  image
    .command('gc')
    .description('remove unused images and leftovers of interrupted imports')
    .option('--grace-period <duration>', 'remove images not used for this long', '24h')
    .action(async (f: { gracePeriod: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const grace = parseDuration(f.gracePeriod, '--grace-period');
      const { existsSync } = await import('node:fs');
      if (!existsSync(ctx.globals.dir)) return; // no store, no garbage: do not create one
      await withStore(ctx, true, async (s) => {
        const { gcImages } = await import('../../store/image-gc.js');
        const { storeRefsInUse } = await import('../../stage0/pod/pod-image-refs.js');
        const r = await gcImages(s, grace, Date.now, (st) => storeRefsInUse(st, ctx.globals.dir));
        for (const t of r.treesRemoved) io.err(`removed treestore ${JSON.stringify(t)}\n`);
        for (const t of r.tempRemoved) ctx.debug(`removed leftover ${JSON.stringify(t)}`);
        for (const b of r.blobsRemoved) io.err(`removed unindexed blob ${JSON.stringify(shortImageId(b as ImageId, 64))}\n`);
        for (const i of r.imagesRemoved) io.out(`successfully removed aci for image: ${JSON.stringify(shortImageId(i as ImageId, 64))}\n`);
        if (r.imagesRemoved.length > 0) io.err(`image gc: ${r.imagesRemoved.length} image(s) successfully removed\n`); // rkt prints it only then
      });
    });

  image
    .command('verify')
    .description("re-check images' rendered trees, rendering them again when they do not match")
    .argument('<image...>')
    .action(async (args: string[], _f: unknown, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      await withStore(ctx, false, async (s) => {
        const { resolveStoredImage } = await import('../../oci/stored-image.js');
        const { verifyImageTree } = await import('../../store/image-verify.js');
        for (const a of args) {
          const img = resolveStoredImage(s, a);
          const r = await verifyImageTree(s, img);
          if (r.outcome === 're-rendered') io.err(`tree cache verification failed for image ${JSON.stringify(a)}: expected ${r.expected ?? ''}, found ${r.actual ?? ''}; rendered it again\n`);
          if (r.outcome === 'rendered') io.err(`image ${JSON.stringify(a)} had no rendered tree; rendered it\n`);
          if (r.outcome === 'verified') io.out(`successfully verified checksum for image: ${JSON.stringify(a)} (${JSON.stringify(shortImageId(img.id, 64))})\n`);
        }
      });
    });

  image
    .command('build')
    .description('build an ACI from DIR (holding manifest and rootfs/); same input, same image ID')
    .argument('<dir>')
    .argument('<out>')
    .addOption(new Option('--compression <kind>', 'output compression').choices(['gzip', 'none']).default('gzip'))
    .option('--overwrite', 'overwrite OUT')
    .action(async (dir: string, out: string, f: { compression: 'gzip' | 'none'; overwrite?: boolean }, cmd: Command) => {
      makeCtx(cmd, io);
      const { buildAci } = await import('../../aci/build.js');
      const epoch = process.env.SOURCE_DATE_EPOCH;
      const clamp = epoch !== undefined && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : undefined;
      const r = await buildAci(dir, out, { compression: f.compression, overwrite: f.overwrite === true, ...(clamp ? { clampMtime: clamp } : {}) });
      io.out(`${shortImageId(r.id, 32)}\n`);
    });
}
