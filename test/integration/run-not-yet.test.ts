/**
 * Networking flags that nothing applies yet are refused with exit 254 and one line, before any
 * image is fetched or any pod is made: never parsed and silently dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';

describe('run/prepare refuse --port, --dns* and --hosts-entry until networking lands', () => {
  let w: World;
  let image: string;
  beforeAll(() => {
    w = makeWorld('capsule-pc-notyet-');
    image = sampleImage('busybox');
  });
  afterAll(() => w.cleanup());

  const cases: [string, string[]][] = [
    ['run', ['--port=http:8080']],
    ['run', ['--dns=1.1.1.1']],
    ['run', ['--dns-search=example.com']],
    ['run', ['--dns-opt=ndots:2']],
    ['run', ['--dns-domain=example.com']],
    ['run', ['--hosts-entry=10.0.0.1=db']],
    ['prepare', ['--port=http:8080']],
  ];
  for (const [kind, flags] of cases) {
    const flag = (flags[0] ?? '').split('=')[0] ?? '';
    it(`${kind} ${flags.join(' ')}: exit 254, "not yet: networking", nothing stored, no pod`, async () => {
      const r = await w.run(['--insecure-options=image', kind, ...flags, image, '--exec=/bin/true']);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([`${kind}: ${flag}: not yet: networking (port forwarding, DNS and hosts entries come with CNI networking) (for now use --net=host, the host's network with its resolv.conf and hosts, or --net=none, loopback only)`]);
      const pods = path.join(w.dir, 'pods');
      const made = fs.existsSync(pods) ? fs.readdirSync(pods).flatMap((s) => fs.readdirSync(path.join(pods, s))) : [];
      expect(made).toEqual([]);
      const listed = await w.run(['image', 'list', '--no-legend']);
      expect(listed.stdout).toBe('');
    });
  }
});
