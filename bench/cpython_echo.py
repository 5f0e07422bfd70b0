# asynchat: bench baseline: CPython's asynchat line echo server (needs CPython <= 3.11)
# SPDX-License-Identifier: BSL-1.0
# Usage: python3 bench/cpython_echo.py [--port N]; prints "listening on 127.0.0.1:PORT" first.
import socket
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asynchat
    import asyncore


class echo_channel(asynchat.async_chat):
    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator(b"\n")
        self.parts = []

    def collect_incoming_data(self, data):
        self.parts.append(data)

    def found_terminator(self):
        self.parts.append(b"\n")
        self.push(b"".join(self.parts))
        self.parts = []


class echo_server(asyncore.dispatcher):
    def __init__(self, port):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", port))
        self.listen(4096)
        print("listening on 127.0.0.1:%d" % self.socket.getsockname()[1], flush=True)

    def handle_accepted(self, sock, addr):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echo_channel(sock)


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    echo_server(port)
    asyncore.loop(timeout=1.0, use_poll=True)
