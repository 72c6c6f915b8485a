#!/usr/bin/env python3
"""firstbyte.py - time one VMM run: process start -> first guest output, -> exit.

Usage: firstbyte.py [--timeout S] [--marker STR] [--out FILE] [--err FILE] -- CMD ARGS...

Spawns CMD (posix_spawn, own session, stdin /dev/null, stdout a pipe) and
timestamps with CLOCK_MONOTONIC (ns resolution):
  first_ms  start -> arrival of the first byte of MARKER (default "kit=", the
            guest kit's banner) on stdout; anything before it (SeaBIOS and
            QEMU terminal noise) is not counted. "na" if it never appears.
  exit_ms   start -> process exit (pidfd readable), not merely stdout EOF.
  cpu_ms    user+sys CPU time of the process and all its threads (wait4 rusage).
Prints one line: first_ms=.. exit_ms=.. cpu_ms=.. user_ms=.. sys_ms=.. rc=.. timeout=0|1
rc is the exit status, or -SIG when killed by a signal. On timeout the whole
session is SIGKILLed and timeout=1. The child's stdout goes to --out, its
stderr to --err (default /dev/null). The helper itself exits 0 unless it
could not run the command (2).
"""
import os
import select
import signal
import sys
import time


def main():
    args = sys.argv[1:]
    timeout, marker, out, err = 120.0, b"kit=", None, os.devnull
    while args and args[0] != "--":
        opt = args.pop(0)
        if not args:
            sys.exit("firstbyte: %s needs a value" % opt)
        val = args.pop(0)
        if opt == "--timeout":
            timeout = float(val)
        elif opt == "--marker":
            marker = val.encode()
        elif opt == "--out":
            out = val
        elif opt == "--err":
            err = val
        else:
            sys.exit("firstbyte: unknown option %s" % opt)
    if not args or len(args) < 2:
        sys.exit(__doc__)
    cmd = args[1:]

    rfd, wfd = os.pipe()
    fa = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, wfd, 1),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_CLOSE, rfd),
        (os.POSIX_SPAWN_CLOSE, wfd),
    ]
    t0 = time.monotonic_ns()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=fa, setsid=True)
    except OSError as e:
        print("firstbyte: cannot run %s: %s" % (cmd[0], e), file=sys.stderr)
        sys.exit(2)
    os.close(wfd)
    pidfd = os.pidfd_open(pid)
    deadline = t0 + int(timeout * 1e9)

    buf = bytearray()
    t_first = None
    t_exit = None
    timed_out = False
    eof = False
    # Poll stdout and the pidfd until the process has exited and stdout is at
    # EOF (or, if something else keeps the pipe open, the process has exited).
    while not (t_exit is not None and eof):
        now = time.monotonic_ns()
        if now >= deadline:
            timed_out = True
            break
        fds = [pidfd] if t_exit is None else []
        if not eof:
            fds.append(rfd)
        # After exit, give stdout only a short grace period to drain.
        wait = (deadline - now) / 1e9
        if t_exit is not None:
            wait = min(wait, max(0.0, 1.0 - (now - t_exit) / 1e9))
            if wait == 0.0:
                break
        ready, _, _ = select.select(fds, [], [], wait)
        now = time.monotonic_ns()
        if pidfd in ready and t_exit is None:
            t_exit = now
        if rfd in ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                eof = True
            else:
                start = max(0, len(buf) - len(marker) + 1)
                buf += chunk
                if t_first is None and buf.find(marker, start) >= 0:
                    t_first = now

    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Drain whatever is left (non-blocking) so --out holds the full output.
    os.set_blocking(rfd, False)
    try:
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            buf += chunk
    except BlockingIOError:
        pass
    os.close(rfd)
    _, status, ru = os.wait4(pid, 0)
    os.close(pidfd)

    if out:
        with open(out, "wb") as f:
            f.write(buf)
    if os.WIFEXITED(status):
        rc = os.WEXITSTATUS(status)
    else:
        rc = -os.WTERMSIG(status)

    def ms(t):
        return "na" if t is None else "%.3f" % ((t - t0) / 1e6)

    print("first_ms=%s exit_ms=%s cpu_ms=%.3f user_ms=%.3f sys_ms=%.3f rc=%d timeout=%d"
          % (ms(t_first), ms(None if timed_out else t_exit),
             (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_utime * 1e3, ru.ru_stime * 1e3,
             rc, 1 if timed_out else 0))


if __name__ == "__main__":
    main()
