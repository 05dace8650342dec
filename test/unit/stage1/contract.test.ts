import { describe, expect, it } from 'vitest';
import { isSupportedInterface, POD_FILES, podLockPath, STAGE1_INTERFACE_VERSION } from '../../../src/stage1/contract.js';

describe('stage1 contract', () => {
  it('names pod files and the lock as documented', () => {
    expect(POD_FILES.appStatus('web')).toBe('status/web');
    expect(POD_FILES.appStarted('web')).toBe('status/web.started');
    expect(POD_FILES.appLog('web')).toBe('logs/web.log');
    expect(POD_FILES.appUpper('web')).toBe('apps/web/upper');
    expect(podLockPath('/run/capsule', 'u1')).toBe('/run/capsule/pods/u1.lock');
  });

  it('accepts only known flavours at the current interface version', () => {
    expect(isSupportedInterface({ flavour: 'nspawn', interfaceVersion: STAGE1_INTERFACE_VERSION })).toBe(true);
    expect(isSupportedInterface({ flavour: 'fly', interfaceVersion: STAGE1_INTERFACE_VERSION })).toBe(true);
    expect(isSupportedInterface({ flavour: 'nspawn', interfaceVersion: STAGE1_INTERFACE_VERSION + 1 })).toBe(false);
    expect(isSupportedInterface({ flavour: 'kvm', interfaceVersion: STAGE1_INTERFACE_VERSION })).toBe(false);
  });
});
