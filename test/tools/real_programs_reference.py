#!/usr/bin/env python3
# asynchat: run the programs of test/async_chat_real_programs.cpp under CPython's own asynchat
# SPDX-License-Identifier: BSL-1.0
"""Each scenario is a server channel written with CPython 3.11's asynchat, driven over a loopback
TCP socket by a blocking client on a thread (2 s receive timeout). It prints what the client
received (repr, or length and a digest for large answers), how the stream ended (EOF, RESET or
TIMEOUT) and what the channel saw (handle_error/handle_close counts, exceptions).

The C++ tests take their expected bytes from here where CPython's result is defined, and say why
where it is not (CPython re-enters initiate_send() from push() inside more(), and deletes the
head of the FIFO after more() returns whatever it now is).

Needs a Python that still has asynchat (3.11 or older). Usage:
    python3 test/tools/real_programs_reference.py
"""
import hashlib
import socket
import sys
import threading
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asynchat
    import asyncore


class Client(threading.Thread):
    """Connects, sends `request`, reads until EOF, reset or timeout."""

    def __init__(self, port, request):
        super().__init__(daemon=True)
        self.port, self.request = port, request
        self.received, self.end = b"", None

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.settimeout(2.0)
        try:
            s.sendall(self.request)
        except OSError as e:
            self.end = "send failed: %s" % e
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                self.end = self.end or "TIMEOUT"
                break
            except ConnectionResetError:
                self.end = self.end or "RESET"
                break
            if not d:
                self.end = self.end or "EOF"
                break
            self.received += d
        s.close()


class Listener(asyncore.dispatcher):
    def __init__(self, make_channel, m):
        super().__init__(map=m)
        self.make_channel, self.m, self.channels = make_channel, m, []
        self.create_socket()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        self.channels.append(self.make_channel(sock, self.m))
        self.close()


class Chat(asynchat.async_chat):
    def __init__(self, sock, m):
        super().__init__(sock, map=m)
        self.errors, self.closes = [], 0
        self.set_terminator(b"\n")

    def collect_incoming_data(self, data):
        pass

    def handle_error(self):
        self.errors.append(repr(sys.exc_info()[1]))
        self.handle_close()

    def handle_close(self):
        self.closes += 1
        self.close()


def run(name, make_channel, request=b"GO\n", show=repr):
    m = {}
    listener = Listener(make_channel, m)
    client = Client(listener.socket.getsockname()[1], request)
    client.start()
    while client.is_alive():
        asyncore.loop(timeout=0.01, count=1, map=m)
    ch = listener.channels[0] if listener.channels else None
    for c in list(m.values()):
        c.close()
    extra = " ".join(getattr(ch, "notes", []))
    print("%s: %s %s  errors=%s closes=%s %s" % (
        name, show(client.received), client.end, ch.errors, ch.closes, extra))


def digest(b):
    return "%d bytes md5 %s" % (len(b), hashlib.md5(b).hexdigest()[:8])


# -- item 2: user code called from more() -----------------------------------------------------

class Scripted:
    """more() returns 'abc' first, then runs `action(chat)` and returns b'' (again b'' later)."""

    def __init__(self, chat, action):
        self.chat, self.action, self.calls = chat, action, 0

    def more(self):
        self.calls += 1
        if self.calls == 1:
            return b"abc"
        if self.calls == 2:
            self.action(self.chat)
        return b""


def producer_program(action, also_push=(), close_after=False):
    class C(Chat):
        def found_terminator(self):
            self.push(b"H\n")
            self.push_with_producer(Scripted(self, action))
            for d in also_push:
                self.push(d)
            if close_after:
                self.close_when_done()
    return C


def both(*fs):
    def f(chat):
        for g in fs:
            g(chat)
    return f


run("more_calls_close_when_done", producer_program(lambda c: c.close_when_done()))
run("more_pushes_T", producer_program(lambda c: c.push(b"T\n")))
run("more_pushes_T_then_close_when_done",
    producer_program(both(lambda c: c.push(b"T\n"), lambda c: c.close_when_done())))
run("more_pushes_T_found_terminator_queued_close",
    producer_program(lambda c: c.push(b"T\n"), close_after=True))
run("more_calls_discard_buffers_tail_queued",
    producer_program(lambda c: c.discard_buffers(), also_push=(b"tail",)))
run("more_calls_discard_buffers_then_close_when_done",
    producer_program(both(lambda c: c.discard_buffers(), lambda c: c.close_when_done())))
run("more_calls_close", producer_program(lambda c: c.close()))


# -- item 3: a producer that throws ------------------------------------------------------------

class Failing:
    def __init__(self, pieces):
        self.pieces = list(pieces)

    def more(self):
        if not self.pieces:
            raise OSError("disk read failed")
        return self.pieces.pop(0)


def failing_program(pieces, close_after=False):
    class C(Chat):
        def found_terminator(self):
            self.push(b"150 opening\n")
            self.push_with_producer(Failing(pieces))
            if close_after:
                self.close_when_done()
    return C


run("producer_throws_at_once", failing_program([]))
run("producer_throws_after_two_chunks", failing_program([b"chunk1;", b"chunk2;"]))
run("close_when_done_after_failing_producer", failing_program([b"chunk1;"], close_after=True))


# -- item 4: hooked producers (Medusa) ---------------------------------------------------------

class Hooked:
    """Medusa's hooked_producer: call `hook` when the wrapped producer is exhausted. Notes the
    bytes still queued ahead (CPython's FIFO entries other than this one) at every call."""

    def __init__(self, chat, inner, hook):
        self.chat, self.inner, self.hook = chat, inner, hook

    def more(self):
        ahead = sum(len(e) for e in self.chat.producer_fifo if isinstance(e, (bytes, bytearray)))
        self.chat.notes.append("ahead=%d" % ahead)
        r = self.inner.more()
        if not r:
            self.hook()
        return r


def hooked_program(head, inner):
    class C(Chat):
        notes = []

        def found_terminator(self):
            self.notes = []
            self.push(head)
            self.push_with_producer(Hooked(self, inner(), self.close))
    return C


run("hooked_close_after_200000",
    hooked_program(b"x" * 200000, lambda: asynchat.simple_producer(b"tail\n", 2)), show=digest)
run("hooked_close_after_1006",
    hooked_program(b"H" * 106, lambda: asynchat.simple_producer(b"b" * 900, 512)), show=digest)


# -- item 8: closing with unread input ---------------------------------------------------------

class LargeAnswer(asynchat.async_chat):
    def __init__(self, sock, m):
        super().__init__(sock, map=m)
        self.errors, self.closes, self.answered = [], 0, False
        self.set_terminator(10)

    def collect_incoming_data(self, data):
        pass

    def readable(self):
        return not self.answered

    def found_terminator(self):
        self.answered = True
        self.push(b"a" * (4 << 20))
        self.close_when_done()


for i in range(3):
    run("unread_input_4MiB_answer#%d" % i, LargeAnswer,
        request=b"0123456789" + b"r" * 100000, show=digest)
