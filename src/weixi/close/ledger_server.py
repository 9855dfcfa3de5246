"""``python -m weixi.close.ledger_server``: one process that runs the close's reads and writes of the SQLite file
through ADBC, one request after another, for as long as its parent keeps its input open
(:func:`weixi.close.ledger_proc.session`).

The jobs are those of :mod:`weixi.close.adbc_read` and :mod:`weixi.close.adbc_update`, in a process of their own for
the reason given there; one process for all of them, started when the close starts, spares the start-up each
one-off process costs (about 0.2 s each, five of them a close).

Each request is one line of JSON on standard input, answered by one line on standard output:

* ``{"op": "read", "db", "out", "queries"}``: the queries' rows to ``OUT.i``; answers ``{"ok": true}``.
* ``{"op": "update", "db", "source", ...}`` with the fields of :func:`weixi.close.adbc_update.update`: with
  ``"hold"`` the next line commits or rolls back (it is read even when the work failed or was skipped, so the
  requests stay in step); answers ``{"ok": true, "changed": n}``.

A request that fails answers ``{"ok": false, "error": ...}`` (its transaction rolled back) and the process goes on.
The end of the input (the parent is done, or died) ends it; a held transaction is then rolled back. Every
request's connection is closed by then, so the process ends without the interpreter's teardown (``os._exit``):
its parent waits for that end, and the teardown of PyArrow and ADBC took 0.03-0.06 s at the end of every close.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from weixi.startup import UNUSED_BY_THE_CLOSE, refuse_import

if __name__ == "__main__":  # PyArrow's core imports NumPy whenever it can: 0.12 CPU-seconds of this process's start
    for _module in UNUSED_BY_THE_CLOSE:
        refuse_import(_module)

from weixi.close import adbc_read, adbc_update  # noqa: E402


def serve(stdin, stdout) -> None:
    import pyarrow  # noqa: F401  (loaded before the first request, not during it)

    while line := stdin.readline():
        if not line.strip():
            continue
        request = json.loads(line)
        held = request.get("op") == "update" and request.get("hold")
        consumed: list[str] = []

        def readline(consumed=consumed) -> str:
            consumed.append(stdin.readline())
            return consumed[-1]

        try:
            if request["op"] == "read":
                adbc_read.read(request["db"], request["out"], request["queries"])
                answer = {"ok": True}
            else:
                answer = {
                    "ok": True,
                    "changed": adbc_update.update(request["db"], request["source"], request, readline),
                }
        except Exception:
            answer = {"ok": False, "error": traceback.format_exc()[-2000:]}
        if held and not consumed and not stdin.readline():  # the commit or abort line the work did not wait for
            return  # the parent is gone
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
