"""The sample corpus: deterministic mixed data (seeded; same bytes everywhere).

Six kinds of data: English-like text, JSON-lines logs, CSV,
source-code-like text, structured binary records and random bytes.
Nothing is downloaded. ``crush bench`` without FILE measures on it, and
``tools/corpus.py`` writes it to disk for calibration and the benchmark
suite (it imports :func:`generate` from here, so there is one copy of the
algorithm). Imported only by ``crush bench``, never at start-up.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from typing import Final

_VOCABULARY: Final = (
    "the of and to in is was for that with as on by at from his her which or an be this "
    "had not are but were they have one all their there been has when who will more no if "
    "out so said what up its about into than them can only other new some time could these "
    "two may then do first any my now such like our over man me even most made after also "
    "did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while "
    "last might us great old year off come since against go came right used take three "
    "compression stream block frame codec plugin deadline thread buffer checksum"
)
_WORDS: Final = tuple(_VOCABULARY.split())


def _text(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    n = 0
    while n < size:
        words = rng.choices(_WORDS, k=rng.randint(6, 18))
        sentence = " ".join(words).capitalize() + rng.choice("...?!") + " "
        if rng.random() < 0.12:
            sentence += "\n\n"
        out.append(sentence)
        n += len(sentence)
    return "".join(out).encode()[:size]


def _logs(rng: random.Random, size: int) -> bytes:
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    paths = ["/api/v1/items", "/api/v1/users", "/login", "/static/app.js", "/health"]
    out = bytearray()
    t = 1_700_000_000.0
    while len(out) < size:
        t += rng.expovariate(20)
        record = {
            "ts": round(t, 3),
            "level": rng.choice(levels),
            "path": rng.choice(paths),
            "status": rng.choice([200, 200, 200, 201, 304, 404, 500]),
            "ms": round(rng.lognormvariate(3, 1), 2),
            "user": f"u{rng.randint(1, 5000):05d}",
        }
        out += json.dumps(record).encode() + b"\n"
    return bytes(out[:size])


def _csv(rng: random.Random, size: int) -> bytes:
    out = bytearray(b"id,date,region,product,quantity,price,total\n")
    regions = ["north", "south", "east", "west"]
    row = 0
    while len(out) < size:
        row += 1
        qty = rng.randint(1, 40)
        price = round(rng.uniform(1, 250), 2)
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        line = f"{row},{day},{rng.choice(regions)},P{rng.randint(1, 300):04d},{qty},{price},"
        out += f"{line}{qty * price:.2f}\n".encode()
    return bytes(out[:size])


def _source(rng: random.Random, size: int) -> bytes:
    names = ["data", "block", "level", "plugin", "result", "size", "offset", "token", "frame"]
    out: list[str] = []
    n = 0
    while n < size:
        fn = f"{rng.choice(names)}_{rng.choice(names)}"
        args = ", ".join(rng.sample(names, rng.randint(1, 3)))
        body = [f"def {fn}({args}):", f'    """Return the {rng.choice(names)} of {args}."""']
        for _ in range(rng.randint(2, 8)):
            a, b = rng.sample(names, 2)
            body.append(f"    {a} = {b} + {rng.randint(0, 99)}  # why: {rng.choice(_WORDS)}")
        body.append(f"    return {rng.choice(names)}\n\n")
        chunk = "\n".join(body)
        out.append(chunk)
        n += len(chunk)
    return "".join(out).encode()[:size]


def _records(rng: random.Random, size: int) -> bytes:
    rec = struct.Struct("<QIhhfd")
    out = bytearray()
    ident = 0
    while len(out) < size:
        ident += rng.randint(1, 3)
        out += rec.pack(ident, rng.randint(0, 1000), rng.randint(-50, 50), 7,
                        rng.gauss(20, 5), rng.random())
    return bytes(out[:size])


def _random(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


KINDS: Final[dict[str, tuple[Callable[[random.Random, int], bytes], float]]] = {
    "text.txt": (_text, 0.25),
    "logs.jsonl": (_logs, 0.25),
    "table.csv": (_csv, 0.15),
    "code.py": (_source, 0.15),
    "records.bin": (_records, 0.10),
    "random.bin": (_random, 0.10),
}


def generate(total: int = 16 << 20, seed: int = 2026) -> dict[str, bytes]:
    """Return ``{file name: bytes}`` for a corpus of about *total* bytes."""
    return {
        name: make(random.Random(f"{seed}:{name}"), int(total * share))
        for name, (make, share) in KINDS.items()
    }
