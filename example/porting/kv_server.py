# asynchat: example: a tiny key-value server written for Python's asynchat (3.11 or older);
# kv_server.hpp is its C++ port, line for line. See README.md beside this file.
# SPDX-License-Identifier: BSL-1.0
#
# Protocol: a greeting, "+OK kv ready\r\n", on connection; then
#           "SET <key> <n>\r\n" followed by exactly n bytes (any bytes) -> "STORED\r\n";
#           "GET <key>\r\n" -> "VALUE <n>\r\n" + the n bytes, or "NOT_FOUND\r\n";
#           "QUIT\r\n" -> "BYE\r\n" and the server closes; anything else -> "ERROR\r\n".
import asynchat
import asyncore
import socket
import sys


class kv_channel(asynchat.async_chat):
    def __init__(self, sock, store):
        asynchat.async_chat.__init__(self, sock)
        self.store = store
        self.pending_key = None
        self.set_terminator(b"\r\n")
        self.push(b"+OK kv ready\r\n")          # a greeting, pushed in __init__

    def log_info(self, message, type="info"):   # every line asyncore logs goes through here
        sys.stderr.write("kv %s: %s\n" % (type, message))

    def collect_incoming_data(self, data):
        self._collect_incoming_data(data)

    def found_terminator(self):
        data = self._get_data()
        if self.pending_key is not None:        # the value of a SET: n bytes, not a line
            self.store[self.pending_key] = data
            self.pending_key = None
            self.set_terminator(b"\r\n")
            self.push(b"STORED\r\n")
            return
        words = data.split()
        if len(words) == 3 and words[0] == b"SET" and words[2].isdigit():
            self.pending_key = words[1]
            self.set_terminator(int(words[2]))
            if int(words[2]) == 0:               # 0 would collect forever: store now
                self.found_terminator()
        elif len(words) == 2 and words[0] == b"GET":
            value = self.store.get(words[1])
            if value is None:
                self.push(b"NOT_FOUND\r\n")
            else:
                self.push(b"VALUE %d\r\n" % len(value))
                self.push(value)
        elif words == [b"QUIT"]:
            self.push(b"BYE\r\n")
            self.close_when_done()
        else:
            self.push(b"ERROR\r\n")


class kv_server(asyncore.dispatcher):
    def __init__(self, port):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", port))
        self.listen(5)
        self.store = {}
        print("listening on 127.0.0.1:%d" % self.socket.getsockname()[1], flush=True)

    def handle_accepted(self, sock, addr):
        kv_channel(sock, self.store)


if __name__ == "__main__":
    kv_server(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    asyncore.loop()
