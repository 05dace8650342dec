/**
 * Test-only fault injection: when CAPSULE_TEST_CRASH_AT names this point, the process
 * SIGKILLs itself here, so tests can prove a crash at any step leaves the store consistent.
 */
export function crashPoint(name: string): void {
  if (process.env.CAPSULE_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
