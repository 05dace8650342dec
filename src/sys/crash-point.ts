import { existsSync, writeFileSync } from 'node:fs';

/**
 * Test-only fault injection: when CAPSULE_TEST_CRASH_AT names this point, the process
 * SIGKILLs itself here, so tests can prove a crash at any step leaves the store consistent.
 */
export function crashPoint(name: string): void {
  if (process.env.CAPSULE_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Test-only pause: when CAPSULE_TEST_PAUSE_AT names this point, the process creates the file
 * CAPSULE_TEST_PAUSE_FILE and blocks until a test removes it, so a race window (e.g. between
 * pinning a pod's trees and writing its runtime.json) can be driven deterministically. Inert
 * otherwise. Synchronous on purpose: nothing else of the process may move while it waits.
 */
export function testPause(name: string): void {
  const file = pauseFile(name);
  if (file === undefined) return;
  writeFileSync(file, `${process.pid}\n`);
  const tick = new Int32Array(new SharedArrayBuffer(4));
  while (existsSync(file)) Atomics.wait(tick, 0, 0, 20);
}

/**
 * The same pause without blocking the event loop: timers run and signals are handled while it
 * waits (a test signals the paused process).
 */
export async function testPauseAsync(name: string): Promise<void> {
  const file = pauseFile(name);
  if (file === undefined) return;
  writeFileSync(file, `${process.pid}\n`);
  while (existsSync(file)) await new Promise((r) => setTimeout(r, 20));
}

function pauseFile(name: string): string | undefined {
  const file = process.env.CAPSULE_TEST_PAUSE_FILE;
  if (process.env.CAPSULE_TEST_PAUSE_AT !== name || !file) return undefined;
  return file;
}

