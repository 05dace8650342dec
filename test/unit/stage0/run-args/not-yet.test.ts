import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors/capsule-error.js';
import { parseRunArgs } from '../../../../src/stage0/run-args/parse-run-args.js';
import { refuseNotYet } from '../../../../src/stage0/run-args/not-yet.js';

const IMG = 'example.com/capsule/probe';

describe('refuseNotYet: networking flags are refused until CNI networking lands, never ignored', () => {
  const refused: [string[], string][] = [
    [['--port=http:8080', IMG], '--port'],
    [['--dns=1.1.1.1', IMG], '--dns'],
    [['--dns', 'host', IMG], '--dns'],
    [['--dns-search=example.com', IMG], '--dns-search'],
    [['--dns-opt=ndots:2', IMG], '--dns-opt'],
    [['--dns-domain=example.com', IMG], '--dns-domain'],
    [['--hosts-entry=10.0.0.1=db', IMG], '--hosts-entry'],
    [['--hosts-entry=host', IMG], '--hosts-entry'],
  ];
  for (const [argv, flag] of refused) {
    it(`${argv.join(' ')} → ${flag}: not yet`, () => {
      const spec = parseRunArgs(argv, 'run');
      expect(() => refuseNotYet(spec.pod)).toThrow(UsageError);
      expect(() => refuseNotYet(spec.pod)).toThrow(`${flag}: not yet: networking`);
    });
  }

  it('a pod manifest with ports is refused the same way', () => {
    const spec = parseRunArgs(['--pod-manifest=/pm'], 'run');
    expect(() => refuseNotYet(spec.pod, 1)).toThrow('a pod manifest with ports: not yet: networking');
    expect(() => refuseNotYet(spec.pod, 0)).not.toThrow();
  });

  it('the flags that work pass', () => {
    for (const argv of [[IMG], ['--net=host', '--hostname=h', IMG], ['--net=none', IMG, '--exec=/bin/true']]) {
      expect(() => refuseNotYet(parseRunArgs(argv, 'run').pod)).not.toThrow();
    }
  });
});
