import { spawn } from 'node:child_process';

/**
 * Runs a command on a pseudo-terminal (python3's pty module: no native Node addon), types `input`
 * into it once `waitFor` appears (or at once), and never closes the terminal: a program that
 * keeps reading after it should have finished is caught, unlike under `script`, which sends
 * end-of-file after the input. `rows`/`cols` set the terminal's window size.
 */
export interface PtyResult {
  code: number | null;
  /** What the terminal showed (stdout and stderr merged, CRLF turned into LF). */
  text: string;
  /** The program was still running `limitMs` after the input: killed. */
  hung: boolean;
}

export interface PtyOptions {
  input?: string;
  waitFor?: string;
  rows?: number;
  cols?: number;
  env?: Record<string, string | undefined>;
  /** A liveness limit, not a speed target: only a hung program comes near it. */
  limitMs?: number;
  /** With `waitFor`: once it appears, the terminal's new window size (the program gets SIGWINCH). */
  resize?: [rows: number, cols: number];
}

const DRIVER = String.raw`
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
argv, inp, wait_for, rows, cols, limit, resize = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out = b''
sent = inp is None and resize is None
deadline = None if not sent else time.time() + limit
status = None
hung = False
while True:
    if not sent and (wait_for is None or wait_for.encode() in out):
        if resize is not None:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', resize[0], resize[1], 0, 0))
        if inp is not None:
            os.write(fd, inp.encode())
        sent = True
        deadline = time.time() + limit
    if deadline is None:
        deadline = time.time() + limit
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            out += data
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        while True:
            r, _, _ = select.select([fd], [], [], 0.05)
            if not r:
                break
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        break
    if time.time() > deadline:
        hung = True
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        break
code = os.waitstatus_to_exitcode(status) if status is not None else None
sys.stdout.write(json.dumps({'code': code, 'text': out.decode('utf-8', 'replace'), 'hung': hung}))
`;

export function onPty(argv: string[], o: PtyOptions = {}): Promise<PtyResult> {
  const spec = [argv, o.input ?? null, o.waitFor ?? null, o.rows ?? 24, o.cols ?? 80, (o.limitMs ?? 30_000) / 1000, o.resize ?? null];
  return new Promise((resolve, reject) => {
    const c = spawn('python3', ['-c', DRIVER, JSON.stringify(spec)], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => {
      try {
        const r = JSON.parse(out) as PtyResult;
        resolve({ ...r, text: r.text.replace(/\r\n/g, '\n') });
      } catch (e) {
        reject(new Error(`pty driver: ${out}`, { cause: e }));
      }
    });
  });
}
