/**
 * An empty volume's mode (`--volume NAME,kind=empty,mode=M`, a pod manifest's volume `mode`):
 * octal, at most 0777 plus the sticky bit. Setuid and setgid bits on a directory the app gets are
 * refused (issue 12 §3): setgid makes every file created there inherit the group, and neither is
 * anything a volume needs. Returns what is wrong, or undefined.
 */
export function volumeModeProblem(mode: string): string | undefined {
  if (!/^0?[0-7]{3,4}$/.test(mode)) return `invalid mode ${JSON.stringify(mode)}`;
  if ((parseInt(mode, 8) & ~0o1777) !== 0) return `mode ${mode} sets the setuid or setgid bit (at most 0777 plus sticky, 1777)`;
  return undefined;
}
