/** Kept equal to package.json's version by a unit test. */
export const CAPSULE_VERSION = '0.1.0';
export const APPC_SPEC_VERSION = '0.8.11';
