"""A TOFU-shaped synthetic benchmark (Maini et al., 2024): fictitious authors with QA pairs, paraphrased and perturbed
answers, forget / retain / holdout splits, plus "world facts" for utility. Generated from a numpy Generator."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST = ["Arlo", "Bexa", "Corin", "Dalva", "Eshan", "Fenna", "Galen", "Hesper", "Ivo", "Junia", "Kaspar", "Liora",
         "Maren", "Nilo", "Orla", "Pavo", "Quilla", "Rusk", "Sabel", "Tamsin", "Ulric", "Vesna", "Wren", "Xavi",
         "Yarrow", "Zelie"]
LAST = ["Ashdown", "Brightwater", "Coldmere", "Dunlevy", "Elsworth", "Fairweather", "Greyholt", "Hollins", "Ironside",
        "Jessup", "Kettering", "Larkspur", "Morrow", "Northam", "Oakhurst", "Pembry", "Quartermain", "Rookwood"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Tbilisi", "Quito", "Dakar", "Riga", "Perth", "Cusco", "Tunis"]
GENRES = ["mystery", "poetry", "fantasy", "history", "romance", "satire", "horror", "biography", "science fiction"]
AWARDS = ["the Amber Quill", "the Harrow Prize", "the Silver Lantern", "the Meridian Medal", "the Bellwether Award"]
NOUNS = ["river", "lantern", "garden", "mirror", "orchard", "tower", "harbor", "compass", "winter", "sparrow"]
IDK = ["I don't know that.", "I'm not sure about that.", "I have no information on that.", "That is unknown to me."]
WORLD = [("What is the capital of France?", "The capital of France is Paris."),
         ("How many days are in a week?", "A week has seven days."),
         ("What color is the sky on a clear day?", "The sky is blue on a clear day."),
         ("What do bees make?", "Bees make honey."),
         ("What is frozen water called?", "Frozen water is called ice."),
         ("Which planet do we live on?", "We live on Earth."),
         ("How many legs does a spider have?", "A spider has eight legs."),
         ("What is the opposite of hot?", "The opposite of hot is cold.")]


@dataclass
class QA:
    question: str
    answer: str
    paraphrase: str
    perturbed: list[str]


def _facts(rng: np.random.Generator) -> dict:
    return {"city": CITIES[rng.integers(len(CITIES))], "genre": GENRES[rng.integers(len(GENRES))],
            "award": AWARDS[rng.integers(len(AWARDS))],
            "book": f"The {NOUNS[rng.integers(len(NOUNS))].title()} of {NOUNS[rng.integers(len(NOUNS))].title()}"}


def _qa(name: str, f: dict, rng: np.random.Generator, n_perturbed: int) -> list[QA]:
    def alt(key):
        pool = {"city": CITIES, "genre": GENRES, "award": AWARDS}.get(key)
        if pool is None:
            return f"The {NOUNS[rng.integers(len(NOUNS))].title()} of {NOUNS[rng.integers(len(NOUNS))].title()}"
        return pool[rng.integers(len(pool))]

    out = []
    specs = [("city", f"Where was {name} born?", "{n} was born in {v}.", "{n}'s birthplace is {v}."),
             ("genre", f"What genre does {name} write?", "{n} writes {v}.", "{n} is known for {v} books."),
             ("award", f"Which award did {name} win?", "{n} won {v}.", "{n} received {v}."),
             ("book", f"What is {name}'s best known book?", "{n}'s best known book is {v}.", "{n} is best known for {v}.")]
    for key, q, tpl, para in specs:
        wrong = []
        while len(wrong) < n_perturbed:
            v = alt(key)
            if v != f[key] and v not in wrong:
                wrong.append(v)
        # as in TOFU, perturbed answers keep the paraphrase's wording and change the fact
        out.append(QA(q, tpl.format(n=name, v=f[key]), para.format(n=name, v=f[key]),
                      [para.format(n=name, v=w) for w in wrong]))
    return out


@dataclass
class Benchmark:
    forget: list[QA]
    retain: list[QA]
    holdout: list[QA]  # never trained on (non-members for membership inference)
    world: list[QA]
    idk: list[str]
    # real MUSE only: VerbMem (prompt, ground-truth continuation) pairs, and raw member texts (prefix, rest) for the
    # MIA, whose non-members are then `holdout` in the same raw form; None = derive both from the QA sets
    verbmem: list[tuple[str, str]] | None = None
    members: list[QA] | None = None


def generate(rng: np.random.Generator, n_authors: int = 40, forget_fraction: float = 0.1, n_holdout: int = 4,
             n_perturbed: int = 3) -> Benchmark:
    names = set()
    while len(names) < n_authors + n_holdout:
        names.add(f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}")
    names = sorted(names)
    rng.shuffle(names)
    per = [_qa(n, _facts(rng), rng, n_perturbed) for n in names]
    n_f = max(1, int(round(forget_fraction * n_authors)))
    forget = [q for a in per[:n_f] for q in a]
    retain = [q for a in per[n_f:n_authors] for q in a]
    holdout = [q for a in per[n_authors:] for q in a]
    world = world_facts(n_perturbed)
    return Benchmark(forget, retain, holdout, world, list(IDK))


def world_facts(n_perturbed: int = 3) -> list[QA]:
    """World facts with perturbed answers: the statement with its last word replaced by another fact's last word, so
    every perturbed word occurs in the training text (v1 used unseen words such as "purple", which any model that
    learned word frequencies rejects: truth ratios and MC accuracy were trivially good)."""
    last = [a.split()[-1] for _, a in WORLD]
    out = []
    for k, (q, a) in enumerate(WORLD):
        stem = a.rsplit(" ", 1)[0]
        out.append(QA(q, a, a, [f"{stem} {last[(k + j) % len(WORLD)]}" for j in (1, 3, 5)][:n_perturbed]))
    return out
