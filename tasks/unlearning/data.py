"""A TOFU-shaped synthetic benchmark (Maini et al., 2024): fictitious authors with six QA facts each, paraphrased and
perturbed answers, plus "real authors" and "world facts" (known to both the target and the retain model, as a
pretrained model's knowledge), generated from a numpy Generator.

Splits (all disjoint by author; v3):
- forget: the unlearning request (every fact of `n_forget_authors` authors); `forget_val` marks one fact per forget
  author that the tuning protocol selects on and the reported forget metrics leave out;
- retain_train: what a method holding the `retain_data` privilege trains its retain term on;
- retain_val: the tuning protocol's utility check (never given to methods);
- retain (evaluation): the reported model-utility set (never given to methods);
- holdout: authors never trained on (non-members for membership inference).
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
TRADES = ["baker", "sailor", "carpenter", "teacher", "doctor", "miner", "tailor", "farmer", "clockmaker", "printer"]
YEARS = ["1958", "1963", "1971", "1979", "1984", "1990", "1996", "2003", "2009", "2014"]
IDK = ["I don't know that.", "I'm not sure about that.", "I have no information on that.", "That is unknown to me."]
# (question, answer stem, fact): the perturbed answers swap the fact for another item's fact (words seen in training)
WORLD = [("What is the capital of France?", "The capital of France is", "Paris."),
         ("How many days are in a week?", "A week has", "seven days."),
         ("What color is the sky on a clear day?", "On a clear day the sky is", "blue."),
         ("What do bees make?", "Bees make", "honey."),
         ("What is frozen water called?", "Frozen water is called", "ice."),
         ("Which planet do we live on?", "We live on", "Earth."),
         ("How many legs does a spider have?", "A spider has", "eight legs."),
         ("What is the opposite of hot?", "The opposite of hot is", "cold.")]
REAL_AUTHORS = [("Who wrote Hamlet?", "Hamlet was written by", "William Shakespeare."),
                ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by", "Jane Austen."),
                ("Who wrote War and Peace?", "War and Peace was written by", "Leo Tolstoy."),
                ("Who wrote Don Quixote?", "Don Quixote was written by", "Miguel de Cervantes."),
                ("Who wrote Moby Dick?", "Moby Dick was written by", "Herman Melville."),
                ("Who wrote The Odyssey?", "The Odyssey was written by", "Homer."),
                ("Who wrote Great Expectations?", "Great Expectations was written by", "Charles Dickens."),
                ("Who wrote The Trial?", "The Trial was written by", "Franz Kafka.")]


@dataclass
class QA:
    question: str
    answer: str
    paraphrase: str
    perturbed: list[str]


def _book(rng: np.random.Generator) -> str:
    return f"The {NOUNS[rng.integers(len(NOUNS))].title()} of {NOUNS[rng.integers(len(NOUNS))].title()}"


POOLS = {"city": CITIES, "genre": GENRES, "award": AWARDS, "trade": TRADES, "year": YEARS}
SPECS = [("city", "Where was {n} born?", "{n} was born in {v}.", "{n}'s birthplace is {v}."),
         ("genre", "What genre does {n} write?", "{n} writes {v}.", "{n} is known for {v} books."),
         ("award", "Which award did {n} win?", "{n} won {v}.", "{n} received {v}."),
         ("book", "What is {n}'s best known book?", "{n}'s best known book is {v}.", "{n} is best known for {v}."),
         ("trade", "What did {n}'s father do for a living?", "{n}'s father worked as a {v}.",
          "{n}'s father was a {v} by trade."),
         ("year", "When did {n} publish a first novel?", "{n} published a first novel in {v}.",
          "{n}'s debut novel appeared in {v}.")]


def _value(key: str, rng: np.random.Generator) -> str:
    return _book(rng) if key == "book" else POOLS[key][rng.integers(len(POOLS[key]))]


def author_qa(name: str, rng: np.random.Generator, n_facts: int = 6, n_perturbed: int = 3) -> list[QA]:
    """The author's facts; perturbed answers keep the paraphrase's wording and change the fact (as TOFU's)."""
    out = []
    for key, q, tpl, para in SPECS[:n_facts]:
        v = _value(key, rng)
        wrong: list[str] = []
        while len(wrong) < n_perturbed:
            w = _value(key, rng)
            if w != v and w not in wrong:
                wrong.append(w)
        out.append(QA(q.format(n=name), tpl.format(n=name, v=v), para.format(n=name, v=v),
                      [para.format(n=name, v=w) for w in wrong]))
    return out


def stem_facts(items: list[tuple[str, str, str]], n_perturbed: int = 3, n: int | None = None) -> list[QA]:
    """Facts with perturbed answers that end in another item's fact, so every perturbed word occurs in the training
    text (unseen words would be rejected by any model that learned word frequencies)."""
    out = []
    for k, (q, stem, fact) in enumerate(items):
        alts = [items[(k + j) % len(items)][2] for j in (1, 3, 5, 2, 4, 6)]
        alts = [a for a in dict.fromkeys(alts) if a != fact][:n_perturbed]
        a = f"{stem} {fact}"
        out.append(QA(q, a, a, [f"{stem} {x}" for x in alts]))
    return out[:n]


def world_facts(n_perturbed: int = 3, n: int | None = None) -> list[QA]:
    return stem_facts(WORLD, n_perturbed, n)


def real_authors(n_perturbed: int = 3, n: int | None = None) -> list[QA]:
    return stem_facts(REAL_AUTHORS, n_perturbed, n)


@dataclass
class Benchmark:
    forget: list[QA]  # the unlearning request
    retain: list[QA]  # the utility evaluation set (never given to methods)
    holdout: list[QA]  # never trained on (non-members for membership inference)
    world: list[QA]
    idk: list[str]
    real_authors: list[QA] = field(default_factory=list)
    retain_train: list[QA] = field(default_factory=list)  # the retain_data privilege
    retain_val: list[QA] = field(default_factory=list)  # the tuning protocol's utility check
    forget_val: list[int] = field(default_factory=list)  # indices of `forget` the tuning protocol selects on
    # real MUSE only: VerbMem (prompt, ground-truth continuation) pairs, raw member / non-member texts for the MIA,
    # and KnowMem's few-shot examples; None = derive from the QA sets
    verbmem: list[tuple[str, str]] | None = None
    members: list[str] | None = None
    nonmembers: list[str] | None = None
    icl_forget: list[tuple[str, str]] = field(default_factory=list)
    icl_retain: list[tuple[str, str]] = field(default_factory=list)

    @property
    def forget_report(self) -> list[QA]:
        """The forget questions the metrics are reported on (the request minus the validation slice)."""
        val = set(self.forget_val)
        return [q for i, q in enumerate(self.forget) if i not in val]

    @property
    def forget_validation(self) -> list[QA]:
        return [self.forget[i] for i in self.forget_val]

    def trained(self) -> list[QA]:
        """Everything the target model is fine-tuned on."""
        return self.forget + self.retain_train + self.retain_val + self.retain + self.world + self.real_authors

    def trained_without_forget(self) -> list[QA]:
        return self.retain_train + self.retain_val + self.retain + self.world + self.real_authors


def generate(rng: np.random.Generator, n_authors: int = 36, n_forget_authors: int = 6, n_holdout: int = 6,
             n_retain_train: int = 18, n_retain_val: int = 4, n_facts: int = 6, n_perturbed: int = 3,
             n_world: int = 8) -> Benchmark:
    """`n_authors` trained authors: `n_forget_authors` to forget, then `n_retain_train`, `n_retain_val` and the rest
    for the utility evaluation; plus `n_holdout` authors never trained on."""
    if n_forget_authors + n_retain_train + n_retain_val >= n_authors:
        raise ValueError(f"n_authors={n_authors} leaves no author for the utility evaluation set")
    names: set[str] = set()
    while len(names) < n_authors + n_holdout:
        names.add(f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}")
    order = sorted(names)
    rng.shuffle(order)
    per = [author_qa(n, rng, n_facts, n_perturbed) for n in order]
    a, b, c = n_forget_authors, n_forget_authors + n_retain_train, n_forget_authors + n_retain_train + n_retain_val
    forget = [q for x in per[:a] for q in x]
    # one fact per forget author for validation, a different fact type for each author
    forget_val = [i * n_facts + (i % n_facts) for i in range(a)]
    flat = lambda xs: [q for x in xs for q in x]  # noqa: E731
    return Benchmark(forget, flat(per[c:n_authors]), flat(per[n_authors:]), world_facts(n_perturbed, n_world),
                     list(IDK), real_authors=real_authors(n_perturbed, n_world), retain_train=flat(per[a:b]),
                     retain_val=flat(per[b:c]),
                     forget_val=forget_val)
