#!/usr/bin/env python3
"""A "server" that accepts connections and never answers: what a stopped or
wedged remora-server looks like to a client in its handshake.

    silent_server.py tcp|unix ADDRESS_FILE [SOCKET_PATH]

Listens on a free loopback TCP port (tcp) or on SOCKET_PATH (unix), writes
the remora address of it to ADDRESS_FILE, then accepts and keeps every
connection open, reading nothing, until killed."""
import os
import socket
import sys
import time


def main():
    kind, address_file = sys.argv[1], sys.argv[2]
    if kind == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        address = "tcp://127.0.0.1:%d" % s.getsockname()[1]
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sys.argv[3])
        address = "shm://" + sys.argv[3]
    s.listen(16)
    with open(address_file + ".tmp", "w") as f:
        f.write(address + "\n")
    os.rename(address_file + ".tmp", address_file)
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)  # kept open, never read or written
        time.sleep(0)


if __name__ == "__main__":
    main()
