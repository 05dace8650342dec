import { describe, expect, it } from 'vitest';
import { mountOf } from '../../../src/sys/filesystem.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:25 / /tmp rw,nosuid shared:2 - tmpfs tmpfs rw',
  '31 30 0:40 / /tmp/with\\040space rw - tmpfs capsule-x rw,size=8192k',
  '32 22 0:41 / /var/lib rw - xfs /dev/sdb1 rw',
  '33 32 0:42 / /var/lib rw - btrfs /dev/sdc1 rw',
  '',
].join('\n');

describe('mountOf: the mount a path lives on', () => {
  const cases: [string, { mountPoint: string; fsType: string }][] = [
    ['/etc/passwd', { mountPoint: '/', fsType: 'ext4' }],
    ['/tmp', { mountPoint: '/tmp', fsType: 'tmpfs' }],
    ['/tmp/x/y', { mountPoint: '/tmp', fsType: 'tmpfs' }],
    ['/tmpfoo', { mountPoint: '/', fsType: 'ext4' }],
    ['/tmp/with space/d', { mountPoint: '/tmp/with space', fsType: 'tmpfs' }],
    // A mount over a mount: the later one hides the earlier.
    ['/var/lib/capsule', { mountPoint: '/var/lib', fsType: 'btrfs' }],
  ];
  for (const [p, want] of cases) it(p, () => expect(mountOf(MOUNTINFO, p)).toEqual(want));
});
