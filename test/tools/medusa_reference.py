#!/usr/bin/env python3
# asynchat: regenerate test/data/medusa_producers.txt by running Medusa's producers
# SPDX-License-Identifier: BSL-1.0
"""Run Medusa's producers (the copy Debian's `supervisor` package ships, in
supervisor/medusa/producers.py) over a fixed set of inputs and write every more() result. The C++
tests (test/medusa_producers.cpp) build the same producers over the same inputs and compare, byte
for byte, without Python.

Needs Debian's python3 with the supervisor package (apt-get install supervisor). Usage:
    /usr/bin/python3 test/tools/medusa_reference.py > test/data/medusa_producers.txt

What a channel sends is the more() results up to the first empty one: asynchat (CPython's and
Medusa's asynchat_25 alike) drops a producer as soon as more() returns an empty string. Where that
is not what the producer is meant to send, and asynchat::<producer> deliberately sends the
meant bytes instead, the case says so: it must be declared below with its reason (`because`),
the script checks that Medusa really does differ there, and records both. A difference that is
not declared stops the script.

File format, one case after another:
    case <name>
    producer <kind> <args...>  one line per producer, the outermost first; each wraps the next
                               and the last wraps `inner` (or is a lines/buffer_list producer)
                                 lines | buffer_list | globbing <buffer_size> | hooked |
                                 chunked <footer>... | escaping <esc_from> <esc_to> |
                                 compressed <level>
    items <hex> ...            the lines or buffers of a lines/buffer_list producer
    inner <hex> ...            the pieces the innermost wrapped producer hands out, one per more()
    more <hex>                 Medusa's more() results in order; the last one is '-' (empty)
    sent <hex>                 what a channel sends: the more() results joined
    called <k> <n>             a hooked_producer called its function with n during more() call k
                               (counted from 1)
    fixed <hex> <reason...>    asynchat sends these bytes instead, for the reason given
    decompressed <hex>         compressed: Python's zlib.decompress(sent)
Hex strings use '-' for b'', and <hh>x<n> for n bytes of value hh (a run of 32 or more).
"""
import random
import sys
import zlib

try:
    from supervisor.medusa import producers
except ImportError:
    # pyenv's or a venv's python3 does not see Debian's packages.
    sys.path.append("/usr/lib/python3/dist-packages")
    from supervisor.medusa import producers

MAX_CALLS = 100000


def hexof(data):
    if isinstance(data, str):
        # lines_producer and hooked_producer work on str under Python 3 (its '' and '\r\n').
        data = data.encode("latin-1")
    if len(data) >= 32 and data.count(data[:1]) == len(data):
        return "%02xx%d" % (data[0], len(data))  # a run of one byte value
    return data.hex() if data else "-"


class list_producer:
    """The wrapped producer: hands out the given pieces, one per more(), then b''."""

    def __init__(self, pieces):
        self.pieces = list(pieces)

    def more(self):
        return self.pieces.pop(0) if self.pieces else b""


class case:
    def __init__(self, name, chain, items=None, inner=None, because=None):
        self.name = name
        self.chain = chain  # [(kind, args)], the outermost first
        self.items = items
        self.inner = inner
        self.because = because


def build(c, calls):
    """Medusa's producers for case c; `calls` collects (call number, count) of hooked ones."""
    kind, args = c.chain[-1]
    if kind == "lines":
        # Python 3's lines_producer joins str; latin-1 keeps every byte as it is.
        p = producers.lines_producer([s.decode("latin-1") for s in c.items])
    elif kind == "buffer_list":
        p = producers.buffer_list_producer(list(c.items))
    else:
        p = list_producer(c.inner)
    wrappers = c.chain if kind not in ("lines", "buffer_list") else c.chain[:-1]
    for kind, args in reversed(wrappers):
        if kind == "globbing":
            p = producers.globbing_producer(p, args[0])
        elif kind == "hooked":
            p = producers.hooked_producer(p, lambda n: calls.append((calls.counter[0], n)))
        elif kind == "chunked":
            p = producers.chunked_producer(p, list(args) if args else None)
        elif kind == "escaping":
            # Medusa's defaults are str ('\r\n.', '\r\n..'), which Python 3 cannot replace in
            # bytes: the same values are passed as bytes.
            p = producers.escaping_producer(p, args[0], args[1])
        elif kind == "compressed":
            p = producers.compressed_producer(p, args[0])
        else:
            raise ValueError(kind)
    return p


class call_log(list):
    def __init__(self):
        super().__init__()
        self.counter = [0]


def intended(c):
    """What the producer chain is meant to send, computed from its definition, not from Medusa."""
    kind, args = c.chain[-1]
    if kind == "lines":
        data = b"".join(s + b"\r\n" for s in c.items)
    elif kind == "buffer_list":
        data = b"".join(c.items)
    else:
        data = b"".join(c.inner)
    wrappers = c.chain if kind not in ("lines", "buffer_list") else c.chain[:-1]
    for kind, args in reversed(wrappers):
        if kind == "escaping":
            data = data.replace(args[0], args[1])
        elif kind in ("globbing", "hooked"):
            pass
        else:
            return None  # chunked and compressed: checked on their own terms below
    return data


def run(c):
    calls = call_log()
    p = build(c, calls)
    results = []
    while len(results) < MAX_CALLS:
        calls.counter[0] = len(results) + 1
        piece = p.more()
        results.append(piece)
        if not piece:
            break
    else:
        raise RuntimeError(c.name + ": more() never returned an empty string")
    sent = b"".join(r.encode("latin-1") if isinstance(r, str) else r for r in results)
    return results, sent, list(calls)


def record(c):
    results, sent, calls = run(c)
    lines = ["case " + c.name]
    for kind, args in c.chain:
        words = [kind]
        for a in args:
            words.append(hexof(a) if isinstance(a, bytes) else str(a))
        lines.append("producer " + " ".join(words))
    if c.items is not None:
        lines.append("items " + " ".join(hexof(s) for s in c.items))
    if c.inner is not None:
        lines.append("inner " + " ".join(hexof(s) for s in c.inner))
    lines += ["more " + hexof(r) for r in results]
    lines.append("sent " + hexof(sent))
    lines += ["called %d %d" % call for call in calls]

    meant = intended(c)
    if c.chain[0][0] == "compressed":
        # Compression is checked by round trip: what Medusa sends must decompress to the input.
        meant = b"".join(c.inner)
        decompressed = zlib.decompress(sent)
        if decompressed != meant:
            raise RuntimeError(c.name + ": Medusa's compressed output does not round-trip")
        lines.append("decompressed " + hexof(decompressed))
    elif meant is not None:
        differs = sent != meant
        if differs and not c.because:
            raise RuntimeError(c.name + ": Medusa sends %r, not the intended %r" % (sent, meant))
        if c.because and not differs:
            raise RuntimeError(c.name + ": declared a difference, but Medusa sends the same")
        if differs:
            lines.append("fixed %s %s" % (hexof(meant), c.because))
    elif c.because:
        raise RuntimeError(c.name + ": a declared difference needs an intended output")
    return "\n".join(lines)


def one_byte_pieces(data):
    return [data[i:i + 1] for i in range(len(data))]


CRLF_DOT = (b"\r\n.", b"\r\n..")
HELD_TAIL = ("Medusa's more() returns b'' while it holds a partial escape sequence at the end "
             "of the stream, so the channel drops those bytes; asynchat hands them out")
ALL_HELD = ("Medusa's more() returns b'' when a whole piece is held as a partial escape "
            "sequence, which ends the stream early; asynchat pulls the next piece instead")
EMPTY_BUFFER = ("Medusa's more() returns an empty buffer as it is, which ends the stream; "
                "asynchat skips it (Medusa's comment: data == ''.join(buffers))")
RESCAN = ("Medusa holds the escaped text, so the end of esc_to can join the next piece into "
          "another esc_from and be escaped twice; asynchat holds the unescaped bytes")


def cases():
    rng = random.Random(20261124)
    text = b"".join(b"line %d: the quick brown fox\r\n" % i for i in range(200))
    # More than zlib's 16384 buffered literals (memLevel 8), so that compress() gives output before
    # flush().
    noise = rng.randbytes(17000)
    out = []

    # lines_producer: 50 lines per piece, each followed by CRLF.
    L = [("lines", ())]
    out.append(case("lines_none", L, items=[]))
    out.append(case("lines_one", L, items=[b"hello"]))
    out.append(case("lines_one_empty_line", L, items=[b""]))
    out.append(case("lines_empty_in_the_middle", L, items=[b"a", b"", b"b"]))
    out.append(case("lines_exactly_50", L, items=[b"%d" % i for i in range(50)]))
    out.append(case("lines_51", L, items=[b"%d" % i for i in range(51)]))
    out.append(case("lines_120", L, items=[b"line %d" % i for i in range(120)]))
    out.append(case("lines_binary", L, items=[b"\x00\xff", b"a\r\nb", b"\r"]))

    # buffer_list_producer: one buffer per piece.
    B = [("buffer_list", ())]
    out.append(case("buffer_list_none", B, items=[]))
    out.append(case("buffer_list_one", B, items=[b"abc"]))
    out.append(case("buffer_list_three", B, items=[b"a", b"bc", b"def"]))
    out.append(case("buffer_list_binary", B, items=[b"\x00", b"\xff\x00\r\n"]))
    out.append(case("buffer_list_empty_last", B, items=[b"x", b""]))
    out.append(case("buffer_list_empty_in_the_middle", B, items=[b"a", b"", b"b"],
                    because=EMPTY_BUFFER))
    out.append(case("buffer_list_empty_first", B, items=[b"", b"x", b"y"], because=EMPTY_BUFFER))

    # globbing_producer: pieces joined up to at least buffer_size.
    def G(size):
        return [("globbing", (size,))]
    out.append(case("globbing_nothing", G(16), inner=[]))
    out.append(case("globbing_one_small", G(16), inner=[b"abc"]))
    out.append(case("globbing_one_byte_pieces", G(16), inner=one_byte_pieces(b"x" * 40)))
    out.append(case("globbing_pieces_of_exactly_the_size", G(4), inner=[b"aaaa", b"bbbb", b"cccc"]))
    out.append(case("globbing_pieces_adding_up_to_the_size", G(4), inner=[b"ab", b"cd", b"ef", b"gh"]))
    out.append(case("globbing_piece_larger_than_the_size", G(4), inner=[b"abcdefghij", b"k"]))
    out.append(case("globbing_crossing_the_size", G(4), inner=[b"a", b"bcdef", b"g"]))
    out.append(case("globbing_size_1", G(1), inner=[b"ab", b"c"]))
    out.append(case("globbing_default_size", G(1 << 16), inner=[b"y" * 1000] * 100))

    # hooked_producer: the pieces as they are, then function(count) once exhausted.
    H = [("hooked", ())]
    out.append(case("hooked_nothing", H, inner=[]))
    out.append(case("hooked_two_pieces", H, inner=[b"ab", b"cde"]))
    out.append(case("hooked_one_byte_pieces", H, inner=one_byte_pieces(b"hello")))

    # chunked_producer: HTTP/1.1 chunks, the last chunk and the footers.
    def C(*footers):
        return [("chunked", footers)]
    out.append(case("chunked_nothing", C(), inner=[]))
    out.append(case("chunked_one", C(), inner=[b"hello"]))
    out.append(case("chunked_sizes_in_hex", C(), inner=[b"a" * 15, b"b" * 16, b"c" * 255,
                                                         b"d" * 256, b"e" * 4096]))
    out.append(case("chunked_crlf_in_data", C(), inner=[b"\r\n", b"0\r\n\r\n"]))
    out.append(case("chunked_one_byte_pieces", C(), inner=one_byte_pieces(b"abc")))
    out.append(case("chunked_footers", C(b"Expires: never", b"X-Sum: 1"), inner=[b"body"]))
    out.append(case("chunked_footers_no_data", C(b"X-A: b"), inner=[]))

    # escaping_producer: esc_from replaced by esc_to, across piece boundaries.
    E = [("escaping", CRLF_DOT)]
    out.append(case("escaping_nothing", E, inner=[]))
    out.append(case("escaping_no_match", E, inner=[b"hello", b" world"]))
    out.append(case("escaping_whole_pieces", E, inner=[b"a\r\n.b\r\n..c", b"\r\n.\r\nd"]))
    out.append(case("escaping_cr_split", E, inner=[b"a\r", b"\n.b"]))
    out.append(case("escaping_crlf_split", E, inner=[b"a\r\n", b".b"]))
    out.append(case("escaping_dot_in_the_next_piece", E, inner=[b"a\r\n", b".", b"b"]))
    out.append(case("escaping_false_starts", E, inner=[b"a\r", b"x\r\n", b"y\r\r\n", b".z"]))
    out.append(case("escaping_leading_dot_not_escaped", E, inner=[b".a\r\nb"]))
    out.append(case("escaping_held_cr_at_end", E, inner=[b"abc\r"], because=HELD_TAIL))
    out.append(case("escaping_held_crlf_at_end", E, inner=[b"hello\r\n.world\r\n"],
                    because=HELD_TAIL))
    out.append(case("escaping_piece_all_held", E, inner=[b"a", b"\r", b"\n", b".", b"b"],
                    because=ALL_HELD))
    out.append(case("escaping_one_byte_pieces", E,
                    inner=one_byte_pieces(b"line1\r\n.line2\r\n..\r\n.\r\n"), because=ALL_HELD))
    out.append(case("escaping_custom_pair", [("escaping", (b"\xff", b"\xff\xff"))],
                    inner=[b"a\xffb", b"\xff", b"\xff\xffc"]))
    out.append(case("escaping_rescans_its_replacement", [("escaping", (b"ab", b"a"))],
                    inner=[b"xab", b"by"], because=RESCAN))

    # compressed_producer: zlib at Medusa's default level 5 and others.
    def Z(level):
        return [("compressed", (level,))]
    out.append(case("compressed_nothing", Z(5), inner=[]))
    out.append(case("compressed_one_piece", Z(5), inner=[b"hello world"]))
    out.append(case("compressed_text_lines", Z(5), inner=[text[i:i + 100]
                                                          for i in range(0, len(text), 100)]))
    out.append(case("compressed_one_byte_pieces", Z(5), inner=one_byte_pieces(b"abcabcabc" * 3)))
    out.append(case("compressed_incompressible", Z(5), inner=[noise[i:i + 4096]
                                                              for i in range(0, len(noise), 4096)]))
    out.append(case("compressed_level_1", Z(1), inner=[text]))
    out.append(case("compressed_level_9", Z(9), inner=[text]))
    out.append(case("compressed_level_0", Z(0), inner=[b"stored " * 10]))
    out.append(case("compressed_level_default", Z(-1), inner=[text[:1000]]))

    # Chains, as Medusa's docstring suggests (compress, then chunk).
    out.append(case("chunked_compressed", [("chunked", ()), ("compressed", (5,))],
                    inner=[text[:3000]]))
    out.append(case("chunked_globbing_one_byte_pieces", [("chunked", ()), ("globbing", (8,))],
                    inner=one_byte_pieces(b"0123456789abcdefghij")))
    out.append(case("hooked_escaping", [("hooked", ()), ("escaping", CRLF_DOT)],
                    inner=[b"a\r\n", b".b\r\n", b"c"]))
    return out


def main():
    sys.stdout.write(
        "# Generated by test/tools/medusa_reference.py from supervisor %s's Medusa "
        "(supervisor/medusa/producers.py), CPython %s, zlib %s.\n"
        % (supervisor_version(), sys.version.split()[0], zlib.ZLIB_RUNTIME_VERSION))
    sys.stdout.write("zlib %s\n\n" % zlib.ZLIB_RUNTIME_VERSION)
    sys.stdout.write("\n\n".join(record(c) for c in cases()) + "\n")


def supervisor_version():
    try:
        from importlib.metadata import version
        return version("supervisor")
    except Exception:  # the metadata is optional; the version is only a comment
        return "(unknown version)"


if __name__ == "__main__":
    main()
