#!/usr/bin/env python3
"""Loopback forwarder into a network namespace: listens on the root namespace's 127.0.0.1
(a free port, written to PORT_FILE), then enters NETNS and forwards every connection to
HOST:PORT there. This is how processes in the root namespace (tests, kubectl) reach the
API server of a node that lives in its own namespace, without any route between them.

    forward.py /run/netns/NAME HOST PORT PORT_FILE
"""

import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, host, port):
    try:
        upstream = socket.create_connection((host, port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)
    client.close()
    upstream.close()


def main():
    netns, host, port, port_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    # The listener stays in the root namespace; sockets made from now on are in NETNS.
    fd = os.open(netns, os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        sys.exit(f"forward: setns {netns}: {os.strerror(ctypes.get_errno())}")
    os.close(fd)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, host, port), daemon=True).start()


if __name__ == "__main__":
    main()
