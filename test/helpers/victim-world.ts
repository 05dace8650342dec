/**
 * The set-up of the archive attack tests: a fresh world for every test with a victim directory
 * beside its store, the refusal check against both, and an unsigned fetch of a hostile image.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { makeWorld, type RunResult, type World } from './cli.js';
import { simpleAci, type RawEntry } from './images.js';
import { expectRejected, makeVictim, snapshot } from './victim.js';

export interface VictimWorld {
  /** The current test's world and victim (set before each test). */
  world: World;
  victim: string;
  /** The unsigned fetch was refused for `problem`, nothing stored, the victim untouched. */
  expectRefusal: (r: RunResult, before: Record<string, string>, problem: RegExp) => Promise<string>;
  /** Fetches an unsigned image: `rootfs/` + entries + manifest, or exactly the given bytes. */
  fetchHostile: (image: RawEntry[] | Buffer) => Promise<{ r: RunResult; before: Record<string, string> }>;
}

/** Registers the per-test world (made before each test, cleaned up after it). */
export function useVictimWorld(): VictimWorld {
  const h: VictimWorld = {
    world: undefined as unknown as World,
    victim: '',
    expectRefusal: (r, before, problem) => expectRejected(h.world, h.victim, r, before, problem, { unsigned: true }),
    fetchHostile: async (image) => {
      const file = path.join(h.world.base, 'hostile.aci');
      fs.writeFileSync(file, Buffer.isBuffer(image) ? image : simpleAci('example.com/hostile', image));
      const before = snapshot(h.world.base, h.world.dir);
      const r = await h.world.run(['--insecure-options=image', 'fetch', file]);
      return { r, before };
    },
  };
  beforeEach(() => {
    h.world = makeWorld('capsule-sec-');
    h.victim = makeVictim(h.world);
  });
  afterEach(() => h.world.cleanup());
  return h;
}
