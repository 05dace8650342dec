import { describe, expect, it } from 'vitest';
import { enterArgs, gcArgs, isSupportedInterface, POD_FILES, podLockPath, runArgs, STAGE1_INTERFACE_VERSION, stopArgs } from '../../../src/stage1/contract.js';

describe('stage1 contract', () => {
  it('builds run arguments in the documented order, leaving out what is not set', () => {
    expect(runArgs({ uuid: 'u1' })).toEqual(['--uuid=u1']);
    expect(runArgs({ uuid: 'u1', debug: true, net: 'host', interactive: true, hostname: 'h', disableCapabilitiesRestriction: true, disablePaths: true, disableSeccomp: true, ipc: 'private' })).toEqual([
      '--uuid=u1', '--debug', '--net=host', '--interactive', '--hostname=h', '--disable-capabilities-restriction', '--disable-paths', '--disable-seccomp', '--ipc=private',
    ]);
  });

  it('passes the command to enter after --, untouched', () => {
    expect(enterArgs('u1', 'web', ['/bin/sh', '-c', 'echo --app=x'])).toEqual(['--uuid=u1', '--app=web', '--', '/bin/sh', '-c', 'echo --app=x']);
  });

  it('builds stop and gc arguments', () => {
    expect(stopArgs('u1', false)).toEqual(['--uuid=u1']);
    expect(stopArgs('u1', true)).toEqual(['--uuid=u1', '--force']);
    expect(gcArgs('u1', true)).toEqual(['--uuid=u1', '--debug']);
  });

  it('names pod files and the lock as documented', () => {
    expect(POD_FILES.appStatus('web')).toBe('status/web');
    expect(POD_FILES.appLog('web')).toBe('logs/web.log');
    expect(podLockPath('/run/capsule', 'u1')).toBe('/run/capsule/pods/u1.lock');
  });

  it('accepts only known flavours at the current interface version', () => {
    expect(isSupportedInterface({ flavour: 'nspawn', interfaceVersion: STAGE1_INTERFACE_VERSION })).toBe(true);
    expect(isSupportedInterface({ flavour: 'nspawn', interfaceVersion: STAGE1_INTERFACE_VERSION + 1 })).toBe(false);
    expect(isSupportedInterface({ flavour: 'kvm' as 'nspawn', interfaceVersion: STAGE1_INTERFACE_VERSION })).toBe(false);
  });
});
