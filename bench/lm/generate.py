"""Greedy decoding for the LM families (batched, left padding)."""
from __future__ import annotations


def greedy_generate(model, tok, prompts: list[str], max_new_tokens: int = 16) -> list[str]:
    """Greedy decoding, batched with left padding."""
    import torch

    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    dev = next(model.parameters()).device
    enc = {k: v.to(dev) for k, v in enc.items()}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
    tok.padding_side = "right"
    return tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
