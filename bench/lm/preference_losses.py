"""Preference losses on sequence log-probabilities, as TRL 1.16 defines them (tested against TRL's own code on fixed
log-probs: tests/test_preference_trl.py).

Notation (per pair): pi_w, pi_l = policy log-probs of the chosen / rejected response summed over its tokens (EOS
included); ref_w, ref_l = the reference model's; len_w, len_l = response token counts;
h = (pi_w - ref_w) - (pi_l - ref_l), the implicit reward margin / beta.

- DPO (TRL `DPOTrainer`, loss_type "sigmoid"):   -log sigmoid(beta h)
- IPO (TRL "ipo", length-normalised as TRL does, beta = tau):
      (h_avg - 1 / (2 beta))^2,  h_avg = (pi_w - ref_w) / len_w - (pi_l - ref_l) / len_l
- robust DPO (TRL "robust", Chowdhury et al. 2024, eps = label_smoothing in [0, 0.5)):
      [-(1 - eps) log sigmoid(beta h) + eps log sigmoid(-beta h)] / (1 - 2 eps)
- conservative DPO (cDPO, Mitchell 2023; TRL 1.16 keeps this label-smoothed sigmoid only in `CPOTrainer`'s
  "sigmoid" loss, which we apply to the DPO margin h): -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)
- SimPO (TRL `CPOTrainer` loss_type "simpo" with cpo_alpha = 0, length-averaged log-probs, no reference):
      -log sigmoid(beta (pi_w / len_w - pi_l / len_l) - gamma)
- RPO (TRL 1.16: loss_type ["sigmoid", "sft"], loss_weights [1, alpha]): mean DPO loss + alpha * NLL, where the NLL
  is TRL's "sft" term: summed NLL of the chosen responses' tokens / their count (a token mean over the batch).
- ORPO (TRL `ORPOTrainer`): NLL - mean(beta log sigmoid(log_odds)), with a = per-token average log-prob of a
  response, log_odds = (a_w - a_l) - (log(1 - e^{a_w}) - log(1 - e^{a_l})), and NLL = TRL's token-mean cross
  entropy of the chosen sequences over prompt *and* response tokens (TRL's comment: "orpo chosen nll loss is
  computed over the full prompt and response").
- KTO (TRL `KTOTrainer`, loss_type "kto"): desirable (chosen) examples 1 - sigmoid(beta (r - z)), undesirable
  (rejected) 1 - sigmoid(beta (z - r)), r = pi - ref, z = max(0, mean KL estimate) from mismatched completions
  (detached); weighted by desirable_weight / undesirable_weight and averaged over the examples.
- SFT on chosen (TRL's "sft" term / SFTTrainer): token-mean NLL of the chosen responses.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _h(pi_w, pi_l, ref_w, ref_l):
    return (pi_w - ref_w) - (pi_l - ref_l)


def dpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1):
    """Per pair: -log sigmoid(beta h)."""
    return -F.logsigmoid(beta * _h(pi_w, pi_l, ref_w, ref_l))


def ipo_loss(pi_w, pi_l, ref_w, ref_l, len_w, len_l, beta: float = 0.1):
    """Per pair, TRL's length-normalised IPO (beta is IPO's tau)."""
    h_avg = (pi_w - ref_w) / len_w.clamp(min=1.0) - (pi_l - ref_l) / len_l.clamp(min=1.0)
    return (h_avg - 1.0 / (2 * beta)) ** 2


def robust_dpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1, eps: float = 0.1):
    if not 0.0 <= eps < 0.5:
        raise ValueError(f"robust DPO: eps (label_smoothing) must lie in [0, 0.5), got {eps}")
    z = beta * _h(pi_w, pi_l, ref_w, ref_l)
    return (-(1 - eps) * F.logsigmoid(z) + eps * F.logsigmoid(-z)) / (1 - 2 * eps)


def cdpo_loss(pi_w, pi_l, ref_w, ref_l, beta: float = 0.1, eps: float = 0.1):
    if not 0.0 <= eps <= 0.5:
        raise ValueError(f"cDPO: eps (label smoothing) must lie in [0, 0.5], got {eps}")
    z = beta * _h(pi_w, pi_l, ref_w, ref_l)
    return -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)


def simpo_loss(pi_w, pi_l, len_w, len_l, beta: float = 2.0, gamma: float = 0.5):
    return -F.logsigmoid(beta * (pi_w / len_w.clamp(min=1.0) - pi_l / len_l.clamp(min=1.0)) - gamma)


def token_mean_nll(logp_sum, n_tokens):
    """TRL's "sft" term: summed NLL of the given responses' tokens divided by their total count (a batch scalar)."""
    return -logp_sum.sum() / n_tokens.sum().clamp(min=1.0)


def sft_loss(pi_w, len_w):
    """Per pair: the token-averaged NLL of the chosen response (MixDPO's objective for routed pairs)."""
    return -pi_w / len_w.clamp(min=1.0)


def rpo_loss(pi_w, pi_l, ref_w, ref_l, len_w, beta: float = 0.1, alpha: float = 1.0):
    """Batch scalar: mean DPO loss + alpha * token-mean NLL of the chosen responses (TRL ["sigmoid", "sft"])."""
    return dpo_loss(pi_w, pi_l, ref_w, ref_l, beta).mean() + alpha * token_mean_nll(pi_w, len_w)


def log1mexp(x):
    """log(1 - e^x) for x < 0, stable (as TRL's helper)."""
    return torch.where(x > -0.6931471805599453, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def orpo_odds_ratio(avg_w, avg_l, beta: float = 0.1):
    """Per pair: beta * log sigmoid(log_odds) (TRL's `odds_ratio_loss` losses; the ORPO loss subtracts its mean)."""
    avg_w, avg_l = avg_w.float(), avg_l.float()
    log_odds = (avg_w - avg_l) - (log1mexp(avg_w) - log1mexp(avg_l))
    return beta * F.logsigmoid(log_odds)


def orpo_loss(avg_w, avg_l, nll_chosen_full, beta: float = 0.1):
    """Batch scalar: NLL (chosen, prompt + response, token mean) - mean(beta log sigmoid(log_odds))."""
    return nll_chosen_full - orpo_odds_ratio(avg_w, avg_l, beta).mean()


def kto_losses(r_desirable, r_undesirable, kl, beta: float = 0.1, desirable_weight: float = 1.0,
               undesirable_weight: float = 1.0):
    """Per example losses (desirable first, then undesirable), as TRL's `KTOTrainer` concatenates them. `kl` is the
    detached, clamped KL estimate z."""
    chosen = 1 - torch.sigmoid(beta * (r_desirable - kl))
    rejected = 1 - torch.sigmoid(beta * (kl - r_undesirable))
    return torch.cat((desirable_weight * chosen, undesirable_weight * rejected), 0)


def kto_kl_estimate(kl_policy_logps, kl_ref_logps):
    """z = max(0, mean(pi(y'|x) - ref(y'|x))) over mismatched (prompt, completion) pairs, detached (TRL)."""
    return (kl_policy_logps - kl_ref_logps).mean().detach().clamp(min=0)


__all__ = ["dpo_loss", "ipo_loss", "robust_dpo_loss", "cdpo_loss", "simpo_loss", "token_mean_nll", "sft_loss",
           "rpo_loss", "log1mexp", "orpo_odds_ratio", "orpo_loss", "kto_losses", "kto_kl_estimate"]
