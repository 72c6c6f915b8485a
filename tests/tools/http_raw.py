#!/usr/bin/env python3
"""Raw HTTP over a Unix socket, for the API tests: what curl will not send.

  http_raw.py SOCKET send DATA [N]      send DATA (Python escapes, e.g. '\\r\\n'), print the answer
                                        [N: wait for N pipelined answers, default 1]
  http_raw.py SOCKET stall DATA SECS    send DATA, then wait up to SECS for the server to close;
                                        prints 'closed_after=S' or 'still_open'
  http_raw.py SOCKET hold N SECS        open N connections, keep them SECS, print 'held=N'
"""
import socket, sys, time

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def complete(buf):
    """How many whole responses (headers and Content-Length body) buf holds."""
    n = 0
    while b"\r\n\r\n" in buf:
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if len(rest) < length:
            break
        n += 1
        buf = rest[length:]
    return n


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "send":
        s = conn(path)
        s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
        s.settimeout(10)
        # How many answers to wait for (pipelined requests): they may come in separate
        # reads, and stopping after the first whole one lost the rest.
        want = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        out = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
                if complete(out) >= want:
                    break
        except socket.timeout:
            pass
        sys.stdout.write(out.decode("latin-1"))
    elif mode == "stall":
        s = conn(path)
        s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
        t0 = time.monotonic()
        s.settimeout(float(sys.argv[4]))
        try:
            while s.recv(4096):
                pass
            print("closed_after=%.1f" % (time.monotonic() - t0))
        except socket.timeout:
            print("still_open")
    elif mode == "hold":
        socks = [conn(path) for _ in range(int(sys.argv[3]))]
        print("held=%d" % len(socks), flush=True)
        time.sleep(float(sys.argv[4]))

main()
