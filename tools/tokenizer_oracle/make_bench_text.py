#!/usr/bin/env python3
"""Writes the tokenizer benchmark's input text: exactly 1 MiB (1048576 bytes) of UTF-8.

  python3 tools/tokenizer_oracle/make_bench_text.py OUT.txt

The text mixes English prose-like paragraphs, Python and C++ code, number tables, and
some Chinese, Japanese, Korean, Cyrillic, Greek and emoji, in lines of varied length
with blank lines between paragraphs. It is generated from a fixed seed with a PRNG of
its own (no `random`), so every Python 3 writes the same bytes. It is cut at the last
whole character before 1 MiB and padded to 1 MiB with ASCII spaces. bench.js (and
modelhub's own benchmark) read it.
"""

import sys

SIZE = 1 << 20
SEED = 0x9E3779B9

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when "
    "if so no will more can said who may about out them what some time could into only "
    "other new these two first also any after like our than its then most over such well "
    "model token layer weight tensor matrix vector attention head batch sequence length "
    "training inference checkpoint shard memory cache kernel thread device gradient loss "
    "language vocabulary merge rank byte encoding decoder normalizer window context prompt "
    "research paper result table figure section method dataset benchmark baseline error "
    "people world city river mountain history music family water light morning evening "
    "quickly carefully rarely probably however therefore although because meanwhile"
).split()

NAMES = "Alice Bob Carol Dave Eve Mallory Trent Peggy Victor Walter Paris London Tokyo Berlin".split()

FOREIGN = [
    "机器学习模型需要大量的数据和计算资源。",
    "今天的天气很好，我们去公园散步吧。",
    "自然言語処理は人工知能の一分野です。",
    "トークナイザーはテキストを数値に変換します。",
    "한국어 문장은 띄어쓰기를 사용합니다.",
    "데이터가 많을수록 모델이 좋아집니다.",
    "Машинное обучение меняет мир вокруг нас.",
    "Съешь же ещё этих мягких французских булок.",
    "Η γλώσσα είναι το σπίτι του είναι.",
    "Ünïcödé têxt wïth àccénts, naïve café résumé.",
    "🎉 Release day! 🚀 Tests pass ✅ and CI is green 💚",
    "👩\u200d💻 coding at 3am ☕☕☕ 😴",
    "Weather: ☀️ 23°C, 🌧️ tomorrow, ❄️ next week 🇨🇭",
]

PY_TEMPLATE = '''def {name}(values, scale={a}.{b}):
    """Scale and sum {name} inputs."""
    total = 0.0
    for i, v in enumerate(values):
        if v is None:
            continue
        total += v * scale / (i + {c})
    return round(total, {d})

'''

CPP_TEMPLATE = '''template <typename T>
T {name}(const std::vector<T>& xs, T bias = T({a})) {{
\tT acc{{}};
\tfor (std::size_t i = 0; i < xs.size(); i += {c}) {{
\t\tacc += xs[i] * static_cast<T>({b}) + bias;  // step {c}
\t}}
\treturn acc;
}}

'''


class Rng:
    """xorshift32: small, and the same everywhere."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF or 1

    def next(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def below(self, n):
        return self.next() % n

    def pick(self, items):
        return items[self.below(len(items))]


def sentence(rng):
    words = [rng.pick(WORDS) for _ in range(4 + rng.below(14))]
    roll = rng.below(10)
    if roll == 0:
        words.insert(rng.below(len(words)), str(rng.below(100000)))
    elif roll == 1:
        words.insert(rng.below(len(words)), rng.pick(NAMES))
    elif roll == 2:
        words.insert(rng.below(len(words)), "%d.%02d%%" % (rng.below(100), rng.below(100)))
    elif roll == 3:
        words.insert(rng.below(len(words)), "don't" if rng.below(2) else "it's")
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.pick([".", ".", ".", "?", "!", ";", ":"])


def paragraph(rng):
    lines, line = [], ""
    for _ in range(2 + rng.below(8)):
        s = sentence(rng)
        if line and len(line) + len(s) > 60 + rng.below(60):
            lines.append(line)
            line = s
        else:
            line = (line + " " + s) if line else s
    lines.append(line)
    return "\n".join(lines) + "\n\n"


def identifier(rng):
    return "_".join(rng.pick(WORDS) for _ in range(1 + rng.below(3)))


def code(rng):
    template = PY_TEMPLATE if rng.below(2) else CPP_TEMPLATE
    return template.format(
        name=identifier(rng), a=rng.below(100), b=rng.below(1000), c=1 + rng.below(8), d=rng.below(6)
    )


def numbers(rng):
    rows = []
    for _ in range(3 + rng.below(6)):
        rows.append(
            "%04d-%02d-%02d\t%s\t%d.%04d\t%de-%d\t%d"
            % (
                1990 + rng.below(40),
                1 + rng.below(12),
                1 + rng.below(28),
                "{:,}".format(rng.below(10**9)),
                rng.below(1000),
                rng.below(10000),
                1 + rng.below(9),
                rng.below(20),
                rng.next(),
            )
        )
    return "\n".join(rows) + "\n\n"


def foreign(rng):
    return " ".join(rng.pick(FOREIGN) for _ in range(1 + rng.below(4))) + "\n"


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    rng = Rng(SEED)
    parts, size = [], 0
    while size < SIZE:
        roll = rng.below(20)
        if roll < 13:
            part = paragraph(rng)
        elif roll < 16:
            part = code(rng)
        elif roll < 17:
            part = numbers(rng)
        else:
            part = foreign(rng)
        parts.append(part)
        size += len(part.encode("utf-8"))
    data = "".join(parts).encode("utf-8")[:SIZE]
    data = data.decode("utf-8", errors="ignore").encode("utf-8")  # drop a cut character
    data += b" " * (SIZE - len(data))
    assert len(data) == SIZE
    with open(argv[1], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv)
