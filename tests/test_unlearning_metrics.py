"""The unlearning family's definitions, each on fixed inputs against the released benchmark's / authors' definition
(TOFU `aggregate_eval_stat.py`, open-unlearning, MUSE `metrics/privleak.py`, FLAT `dataloader.py` / `evaluate.py`),
written out here independently of the implementation."""
import math

import numpy as np
import pytest
import torch

from tasks.unlearning import metrics as M


# -- TOFU --------------------------------------------------------------------------------------------------------
def test_truth_ratio_is_the_geometric_mean_of_perturbed_over_paraphrase():
    # paraphrase p = 1/2; perturbed p = 1/4, 1/8: geometric mean 1/sqrt(32) (the arithmetic mean 3/16 would give 3/8)
    tr = M.truth_ratio(np.array([math.log(2)]), np.array([[math.log(4), math.log(8)]]))
    assert tr[0] == pytest.approx((1 / math.sqrt(32)) / 0.5)
    # TOFU's code: curr_stat_1 = exp(mean(perturbed losses) - paraphrased loss) is 1 / R of the paper's definition
    rng = np.random.default_rng(0)
    para, pert = rng.uniform(0.1, 5, 50), rng.uniform(0.1, 5, (50, 5))
    tofu_stat = np.exp(pert.mean(-1) - para)
    assert np.allclose(M.truth_ratio(para, pert), 1 / tofu_stat)


def test_forget_truth_ratio_is_tofus_min_r_over_r_so_over_unlearning_is_not_best():
    assert M.forget_truth_ratio(np.array([0.5, 2.0, 1.0])) == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    forgotten, over_unlearned = np.full(10, 1.0), np.full(10, 25.0)  # R = 25: the truth made far *less* likely
    assert M.forget_truth_ratio(over_unlearned) == pytest.approx(0.04)
    assert M.forget_truth_ratio(forgotten) == 1.0 > M.forget_truth_ratio(over_unlearned)
    # retain side: mean(max(0, 1 - R))
    assert M.retain_truth_ratio(np.array([0.2, 1.5])) == pytest.approx(0.4)


def test_forget_quality_is_the_ks_p_value_and_invariant_to_tofus_1_over_r():
    a = np.array([0.1, 0.2, 0.3, 0.4])
    assert M.forget_quality(a, a) == pytest.approx(1.0)
    assert M.forget_quality(a, a + 10) == pytest.approx(2 / 70)  # exact two-sided KS, disjoint samples of 4 and 4
    rng = np.random.default_rng(1)
    x, y = rng.lognormal(size=30), rng.lognormal(0.5, size=30)
    assert M.forget_quality(x, y) == pytest.approx(M.forget_quality(1 / x, 1 / y))


def test_model_utility_has_tofus_nine_terms_with_world_facts_and_real_authors_apart():
    from tasks.unlearning.tasks import tofu_utility_terms

    def stats(p_ans, p_pert, rouge, tr):
        return {"ans_nll": -np.log(np.array(p_ans)), "pert_nll": -np.log(np.array(p_pert)),
                "rouge_recall": np.array(rouge), "tr": np.array(tr)}

    s = {"retain": stats([0.5, 0.7], [[0.1, 0.1], [0.2, 0.2]], [1.0, 0.5], [0.2, 0.4]),
         "real_authors": stats([0.6], [[0.2, 0.2]], [0.8], [0.5]),
         "world_facts": stats([0.3], [[0.1, 0.2]], [0.4], [0.9])}
    terms = tofu_utility_terms(s)
    assert sorted(terms) == sorted(M.TOFU_UTILITY_TERMS) and len(terms) == 9
    assert terms["prob retain"] == pytest.approx(0.6)  # plain mean probability on retain
    assert terms["prob real_authors"] == pytest.approx(0.6 / (0.6 + 0.4))  # normalised over the candidates
    assert terms["prob world_facts"] == pytest.approx(0.3 / (0.3 + 0.3))
    assert terms["truth_ratio retain"] == pytest.approx((0.8 + 0.6) / 2)
    assert M.model_utility(terms) == pytest.approx(9 / sum(1 / v for v in terms.values()))
    assert M.model_utility([0.5, 0.0]) == 0.0


def test_rouge_l_recall_with_stemming_as_tofu_and_flat_and_f1_without_as_muse():
    from rouge_score import rouge_scorer

    pred, ref = "the cats were running home", "the cat runs home quickly"
    stemmed = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(ref, pred)["rougeL"]
    plain = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(ref, pred)["rougeL"]
    assert M.rouge_l(pred, ref, stem=True)["recall"] == pytest.approx(stemmed.recall) == pytest.approx(4 / 5)
    assert M.rouge_l(pred, ref)["f"] == pytest.approx(plain.fmeasure) and plain.recall == pytest.approx(2 / 5)
    assert M.rouge_l("a b c d", "a c d e")["recall"] == 0.75  # LCS "a c d" = 3 of 4
    assert M.rouge_l("", "anything")["recall"] == 0.0


# -- MUSE --------------------------------------------------------------------------------------------------------
def test_min_k_is_muses_floor_of_40_percent():
    lp = np.array([-1.0, -5.0, -2.0, -0.5, -3.0])  # floor(0.4 * 5) = 2 lowest: -5, -3
    assert M.min_k_score(lp, 0.4) == pytest.approx(4.0)
    assert M.min_k_score(np.array([-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0]), 0.4) == pytest.approx(6.5)  # floor 2.8


def test_privleak_orientation_sign_and_bound_as_muse():
    from sklearn.metrics import auc, roc_curve

    forget, holdout = np.array([1.0, 2.0, 1.5]), np.array([5.0, 6.0, 1.8])  # Min-K: members are likely (low)
    y = np.r_[np.zeros(3), np.ones(3)]  # MUSE's sweep: forget = 0, holdout = 1, score = -ppl
    fpr, tpr, _ = roc_curve(y, -np.r_[forget, holdout])
    assert M.mia_auc(forget, holdout) == pytest.approx(auc(fpr, tpr)) == pytest.approx(1 / 9)
    # the un-unlearned model separates perfectly: AUC 0 -> PrivLeak -100 % (the bound); the retrained model: 0
    assert M.mia_auc(np.array([1.0, 2.0]), np.array([5.0, 6.0])) == 0.0
    assert M.priv_leak(0.0, 0.5) == -100.0 and M.priv_leak(0.5, 0.5) == 0.0
    assert M.priv_leak(0.75, 0.5) == pytest.approx(50.0)  # over-unlearned: forget now looks *less* likely than holdout


def test_synthetic_verbmem_references_are_never_empty():
    from tasks.unlearning.data import generate
    from tasks.unlearning.tasks import verbmem_pairs

    b = generate(np.random.default_rng(0))
    for _, prefix, rest in verbmem_pairs(b.forget_report):
        assert prefix.strip() and len(rest.split()) >= 2


def test_muse_knowmem_prompt_is_few_shot_as_muse():
    from tasks.unlearning.tasks import knowmem_prompt

    p = knowmem_prompt("Who?", [("Q1", "A1"), ("Q2", "A2")])
    assert p == "Question: Q1\nAnswer: A1\n\nQuestion: Q2\nAnswer: A2\n\nQuestion: Who?\nAnswer: "


# -- FLAT copyright -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pred,ref", [
    ("That night the wind howled, and Mira Vell swore to keep the secret.",
     "That night the bells fell silent, and Mira Vell swore to keep the secret of Hollowmere."),
    ("In the town, the wizard found a key!", "In the town, the wizard found a silver key."),
    ("completely different words here", "nothing in common at all"),
])
def test_bleu_is_flats_per_passage_sacrebleu_corpus_bleu(pred, ref):
    import sacrebleu

    assert M.bleu(pred, ref) == pytest.approx(sacrebleu.corpus_bleu([pred], [[ref]]).score)
    assert M.bleu(ref, ref) == pytest.approx(100.0)


def test_gap_to_the_retained_model_makes_silence_cost_the_retained_score():
    retained_bleu, retained_rouge = 20.0, 0.4
    empty = M.gap(0.0, retained_bleu) / 100 + M.gap(0.0, retained_rouge)
    like_retained = M.gap(21.0, retained_bleu) / 100 + M.gap(0.38, retained_rouge)
    assert empty == pytest.approx(0.6) and like_retained == pytest.approx(0.03)


# -- methods against their released definitions --------------------------------------------------------------------
AUTHORS_FLAT = {  # UCSC-REAL/FLAT get_contrastive_loss: loss = activation(P_e) - conjugate(P_f) with their signs
    "kl": (lambda x: -x, lambda x: -math.exp(x - 1.0)),
    "reverse_kl": (lambda x: math.exp(x), lambda x: 1.0 + x),
    "jeffrey": (lambda x: -x, lambda x: -(x + x * x / 4.0 + x ** 3 / 16.0)),
    "squared_hellinger": (lambda x: -(1.0 - math.exp(x)), lambda x: -((1.0 - math.exp(x)) / math.exp(x))),
    "pearson": (lambda x: -x, lambda x: -(x * x / 4.0 + x)),
    "neyman": (lambda x: -(1.0 - math.exp(x)), lambda x: -(2.0 - 2.0 * math.sqrt(1.0 - x))),
    "js": (lambda x: math.log(1.0 + math.exp(-x)) - math.log(2.0), lambda x: -(x + math.log(1.0 + math.exp(-x))) + math.log(2.0)),
    "tv": (lambda x: -math.tanh(x) / 2.0, lambda x: -math.tanh(x) / 2.0),
}


@pytest.mark.parametrize("div", sorted(AUTHORS_FLAT))
def test_flat_loss_matches_the_authors_eight_divergences(div):
    from baselines.unlearning.flat import DIVERGENCES, flat_loss

    assert len(DIVERGENCES) == 8
    pe, pf = 0.31, 0.17
    act, conj = AUTHORS_FLAT[div]
    assert float(flat_loss(torch.tensor(pe), torch.tensor(pf), div)) == pytest.approx(act(pe) - conj(pf), rel=1e-6)


def test_flat_defaults_to_total_variation_with_batch_level_dilution():
    from baselines.unlearning.flat import Config, batch_probability

    assert Config().divergence == "tv" and Config().average == "padded"

    class Fixed(torch.nn.Module):  # every position predicts token 1 with probability 0.8 (vocab of 2)
        def forward(self, input_ids, attention_mask=None, logits_to_keep=None):
            logits = torch.tensor([math.log(0.2), math.log(0.8)]).expand(*input_ids.shape, 2)
            return type("O", (), {"logits": logits[logits_to_keep]})()

    ids = torch.ones(2, 5, dtype=torch.long)
    labels = torch.tensor([[-100, -100, 1, 1, 1], [-100, -100, -100, 1, -100]])  # 3 + 1 labelled tokens
    batch = {"input_ids": ids, "labels": labels, "attention_mask": torch.ones_like(ids)}
    # the authors: sum of the labelled tokens' probabilities / (batch x (max_length - 1)), padded to max_length = 9
    assert float(batch_probability(Fixed(), batch, 9)) == pytest.approx(4 * 0.8 / (2 * 8))
    assert float(batch_probability(Fixed(), batch, None)) == pytest.approx(0.8)  # the token-mean ablation


def test_npo_idkpo_simnpo_match_open_unlearning():
    import torch.nn.functional as F

    from baselines.unlearning.idk_po import idk_po_loss
    from baselines.unlearning.npo import npo_loss
    from baselines.unlearning.simnpo import simnpo_loss

    lp, lr, beta = torch.tensor([-12.0, -3.0]), torch.tensor([-10.0, -4.0]), 0.1
    # open-unlearning compute_dpo_loss(win=None, lose=forget): -2/beta * logsigmoid(beta * (0 - (lp - lr)))
    assert torch.allclose(npo_loss(lp, lr, beta), -2 / beta * F.logsigmoid(-beta * (lp - lr)))
    x = torch.tensor([-2.0], requires_grad=True)  # beta -> 0 recovers gradient ascent's gradient (+1 per log-lik unit)
    npo_loss(x, torch.tensor([-1.0]), 1e-4).sum().backward()
    assert float(x.grad) == pytest.approx(1.0, abs=1e-3)
    w, lw, rw, rl = torch.tensor([-5.0]), torch.tensor([-9.0]), torch.tensor([-7.0]), torch.tensor([-8.0])
    want = -2 / beta * F.logsigmoid(beta * ((w - rw) - (lw - rl)))  # the 2 / beta factor: 20x at beta = 0.1
    assert torch.allclose(idk_po_loss(w, lw, rw, rl, beta), want)
    assert float(idk_po_loss(w, lw, rw, rl, beta)) == pytest.approx(20 * float(-F.logsigmoid(beta * torch.tensor(3.0))))
    nll = torch.tensor([2.0])  # SimNPO: -(2 / beta) logsigmoid(beta * (NLL / |y| - delta))
    assert float(simnpo_loss(nll, 4.5, 0.5)) == pytest.approx(-(2 / 4.5) * math.log(1 / (1 + math.exp(-4.5 * 1.5))))
