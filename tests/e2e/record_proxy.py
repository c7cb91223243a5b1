#!/usr/bin/env python3
"""A TCP proxy that records what crosses it: what an eavesdropper on the
network between a client and a server sees.

    record_proxy.py TARGET_PORT PORT_FILE RECORD

Listens on a free loopback port (written to PORT_FILE once listening) and
forwards each connection to 127.0.0.1:TARGET_PORT; every byte from the
clients is appended to RECORD.up, every byte from the server to
RECORD.down. Runs until killed."""
import os
import socket
import sys
import threading


def pump(src, dst, record, lock):
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        with lock:
            record.write(data)
            record.flush()
        try:
            dst.sendall(data)
        except OSError:
            break
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    target, port_file, record = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    up, down = open(record + ".up", "ab"), open(record + ".down", "ab")
    lock = threading.Lock()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = s.accept()
        server = socket.create_connection(("127.0.0.1", target))
        for src, dst, rec in ((client, server, up), (server, client, down)):
            threading.Thread(target=pump, args=(src, dst, rec, lock), daemon=True).start()


if __name__ == "__main__":
    main()
