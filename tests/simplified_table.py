"""Makes searchkit/data/simplified.txt, the table `analysis.normalize` converts traditional
characters to simplified with, from the installed OpenCC: `python tests/simplified_table.py`
after an OpenCC upgrade (test_normalize.py fails until then)."""

from pathlib import Path

import opencc

TABLE = Path(__file__).parent.parent / "searchkit" / "data" / "simplified.txt"


def opencc_simplified() -> dict[str, str]:
    """{character: its simplified character} for every character OpenCC `t2s` converts,
    alone, to another one, converted again until it stays: what the table holds.
    Takes ~3 s (each of the 1.1M code points converted on its own)."""
    converter = opencc.OpenCC("t2s")
    table = {}
    for codepoint in range(0x110000):
        if 0xD800 <= codepoint <= 0xDFFF:
            continue  # OpenCC cannot encode a lone surrogate
        char = chr(codepoint)
        converted = converter.convert(char)
        if len(converted) == 1 and converted != char:
            table[char] = converted
    for char, converted in table.items():
        chain = [char]
        while converted in table:  # 薴 -> 苧 -> 苎
            if converted in chain:
                raise ValueError(f"OpenCC t2s converts {char} in a circle")
            chain.append(converted)
            converted = table[converted]
        table[char] = converted
    return table


def write_table() -> None:
    lines = [
        f"# OpenCC {opencc.__version__} t2s, character by character: each character it converts",
        "# alone, and what it becomes (converted again until it stays). Made by",
        "# `python tests/simplified_table.py`; tests/test_normalize.py checks it against OpenCC.",
    ]
    lines += [char + simplified for char, simplified in opencc_simplified().items()]
    TABLE.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_table()
    print(f"wrote {TABLE}")
