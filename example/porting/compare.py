# asynchat: run kv_server.py (CPython 3.11 or older) and its C++ port on the same session and
# compare the bytes they answer. From the repository root, after building the examples:
#     python3 example/porting/compare.py [build]
# SPDX-License-Identifier: BSL-1.0
import socket
import subprocess
import sys



def run(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(p.stdout.readline().strip().rsplit(":", 1)[1])
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET a\r\nSET a 7\r\nx\r\ny\r\nzGET a\r\nSET empty 0\r\nGET empty\r\nBOGUS\r\nQUIT\r\nGET a\r\n")
    out = b""
    while True:
        d = s.recv(4096)
        if not d: break
        out += d
    p.terminate(); p.wait()
    return out


a = run([sys.executable, "-W", "ignore", "example/porting/kv_server.py"])
build = sys.argv[1] if len(sys.argv) > 1 else "build"
b = run([build + "/example/asynchat_example_porting_kv_server"])
print(repr(a)); print(repr(b)); print("same" if a == b else "DIFFERENT")
sys.exit(0 if a == b else 1)
