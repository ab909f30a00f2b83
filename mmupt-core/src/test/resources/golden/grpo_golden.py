#!/usr/bin/env python3
"""Golden vectors for the GRPO head loss, computed independently of the Java code with NumPy.

Run from this folder: python3 grpo_golden.py  (writes grpo_golden.json next to it; deterministic).

Each case draws a small head (full, or LoRA on a frozen base), hidden states, targets, per-sequence
advantages and log-prob offsets from a seeded generator, then computes in float64:
  logits z = W h (or W0 h + s B A h), log-softmax of z / tau, entropy,
  the clipped surrogate with low/high/dual clip, a KL estimator (k1, k2, k3, optionally EasyR1's clamps),
  aggregation weights, the loss sum_t w_t L_t, and its gradients by the chain rule written out below.
The Java test checks its own results (and, later, the native kernel's) against these numbers.
"""
import json
import numpy as np


def aggregation_weights(lengths, mode, normalizer):
    lengths = [int(n) for n in lengths]
    total = sum(lengths)
    seqs = sum(1 for n in lengths if n > 0)
    w = []
    for n in lengths:
        if n == 0:
            continue
        if mode == "TOKEN_MEAN":
            w += [1.0 / total] * n
        elif mode == "SEQ_MEAN_TOKEN_MEAN":
            w += [1.0 / (seqs * n)] * n
        elif mode == "SEQ_MEAN_TOKEN_SUM":
            w += [1.0 / seqs] * n
        elif mode == "CONSTANT_NORMALIZER":
            w += [1.0 / (seqs * normalizer)] * n
        else:
            raise ValueError(mode)
    return np.array(w)


def kl_value_and_grad(logp, ref, estimator, clamps):
    """Value of the estimator at x = ref - logp and its derivative with respect to logp."""
    x = ref - logp
    if estimator == "K1":
        value, dvalue_dx = -x, -np.ones_like(x)
    elif estimator == "K2":
        value, dvalue_dx = 0.5 * x * x, x
    elif estimator == "K3":
        value, dvalue_dx = np.exp(x) - x - 1.0, np.exp(x) - 1.0
    else:
        raise ValueError(estimator)
    grad = -dvalue_dx  # dx/dlogp = -1
    if clamps:
        xc = np.clip(x, -20.0, 20.0)
        raw = np.exp(xc) - xc - 1.0
        value = np.clip(raw, -10.0, 10.0)
        bound = (x < -20.0) | (x > 20.0) | (raw > 10.0) | (raw < -10.0)
        grad = np.where(bound, 0.0, grad)
    return value, grad


def surrogate(logp, old, adv, low, high, dual):
    ratio = np.exp(logp - old)
    unclipped = -adv * ratio
    clipped = -adv * np.clip(ratio, 1.0 - low, 1.0 + high)
    pg = np.maximum(unclipped, clipped)
    zero_grad = ((adv > 0) & (ratio > 1.0 + high)) | ((adv < 0) & (ratio < 1.0 - low))
    if np.isfinite(dual):
        pg = np.where(adv < 0, np.minimum(pg, -adv * dual), pg)
        zero_grad = zero_grad | ((adv < 0) & (ratio > dual))
    grad = np.where(zero_grad, 0.0, unclipped)
    return pg, grad, ratio


def f32(x):
    """Rounds to float32 and back, so float32 consumers (the native kernel) see exactly these inputs."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def make_case(seed, name, V, d, lengths, rank, alpha, tau, aggregation, beta, estimator, clamps, masked,
              offpolicy, low=0.2, high=0.3, dual=3.0, normalizer=16):
    rng = np.random.default_rng(seed)
    T = int(sum(lengths))
    W = f32(rng.normal(0.0, 0.5, size=(V, d)))
    A = f32(rng.normal(0.0, 0.5, size=(rank, d))) if rank else np.zeros((0, d))
    B = f32(rng.normal(0.0, 0.5, size=(V, rank))) if rank else np.zeros((V, 0))
    s = alpha / rank if rank else 0.0
    h = f32(rng.normal(0.0, 1.0, size=(T, d)))
    y = rng.integers(0, V, size=T)
    seq_adv = f32(rng.normal(0.0, 1.0, size=len(lengths)))
    adv = np.repeat(seq_adv, lengths)

    W_eff = W + s * (B @ A) if rank else W
    z = h @ W_eff.T / tau
    zmax = z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    logp_all = z - lse[:, None]
    p = np.exp(logp_all)
    logp = logp_all[np.arange(T), y]
    entropy = -(p * logp_all).sum(axis=1)

    # Old log-probs: equal to the current ones (ratio 1), or offset into every clip region.
    if offpolicy:
        offsets = rng.choice([0.05, -0.05, 0.6, -0.6, 1.4, 0.2, -0.3], size=T)
    else:
        offsets = np.zeros(T)
    old = f32(logp - offsets)
    ref = f32(logp + rng.choice([0.1, -0.2, 0.4, 3.0, -1.0], size=T))

    w = aggregation_weights(lengths, aggregation, normalizer)
    if masked:
        w[rng.choice(T, size=max(1, T // 4), replace=False)] = 0.0

    pg, pg_grad, ratio = surrogate(logp, old, adv, low, high, dual)
    kl, kl_grad = kl_value_and_grad(logp, ref, estimator, clamps) if beta > 0 else (np.zeros(T), np.zeros(T))
    token_loss = pg + beta * kl
    loss = float((w * token_loss).sum())
    g = w * (pg_grad + beta * kl_grad)  # dL/dlogp per token

    onehot = np.zeros((T, V))
    onehot[np.arange(T), y] = 1.0
    dz = (g / tau)[:, None] * (onehot - p)  # dL/dz (raw logits)
    dh = dz @ W_eff
    case = {
        "name": name, "seed": seed, "V": V, "d": d, "T": T, "rank": rank, "alpha": alpha, "temperature": tau,
        "aggregation": aggregation, "normalizer": normalizer, "beta": beta, "estimator": estimator,
        "clamps": clamps, "clipLow": low, "clipHigh": high, "dualClip": dual if np.isfinite(dual) else None,
        "lengths": [int(n) for n in lengths],
        "weight": W.ravel().tolist(), "loraA": A.ravel().tolist(), "loraB": B.ravel().tolist(),
        "hidden": h.ravel().tolist(), "targets": y.tolist(), "advantages": adv.tolist(),
        "oldLogProbs": old.tolist(), "refLogProbs": ref.tolist() if beta > 0 else [],
        "weights": w.tolist(),
        "expected": {
            "loss": loss, "logProbs": logp.tolist(), "entropies": entropy.tolist(), "upstream": g.tolist(),
            "gradHidden": dh.ravel().tolist(),
        },
    }
    if rank:
        u = h @ A.T
        case["expected"]["gradLoraB"] = (s * dz.T @ u).ravel().tolist()
        case["expected"]["gradLoraA"] = ((s * dz @ B).T @ h).ravel().tolist()
    else:
        case["expected"]["gradWeight"] = (dz.T @ h).ravel().tolist()
    return case


def main():
    cases = [
        make_case(1, "full token-mean on-policy beta0", 11, 6, [3, 4], 0, 0, 1.0, "TOKEN_MEAN", 0.0, "K3", False, False, False),
        make_case(2, "full token-mean off-policy k3 clamped", 13, 5, [4, 2, 3], 0, 0, 0.7, "TOKEN_MEAN", 0.01, "K3", True, False, True),
        make_case(3, "full seq-mean-token-mean off-policy k1", 17, 4, [5, 1, 3], 0, 0, 1.0, "SEQ_MEAN_TOKEN_MEAN", 0.1, "K1", False, False, True),
        make_case(4, "full seq-mean-token-sum k2 temperature", 9, 7, [2, 6], 0, 0, 0.5, "SEQ_MEAN_TOKEN_SUM", 0.05, "K2", False, False, True),
        make_case(5, "full dr-grpo constant normalizer", 10, 3, [3, 3, 2], 0, 0, 1.3, "CONSTANT_NORMALIZER", 0.0, "K3", False, False, True),
        make_case(6, "full masked rows k3", 15, 5, [4, 4], 0, 0, 1.0, "TOKEN_MEAN", 0.2, "K3", False, True, True),
        make_case(7, "lora token-mean on-policy beta0", 12, 6, [3, 3], 2, 4.0, 1.0, "TOKEN_MEAN", 0.0, "K3", False, False, False),
        make_case(8, "lora off-policy k3 clamped temperature", 14, 5, [2, 5, 1], 3, 6.0, 0.7, "TOKEN_MEAN", 0.01, "K3", True, False, True),
        make_case(9, "lora seq-mean-token-mean k2", 8, 4, [4, 2], 1, 1.0, 1.0, "SEQ_MEAN_TOKEN_MEAN", 0.3, "K2", False, False, True),
        make_case(10, "lora dr-grpo masked k1", 16, 6, [3, 4, 2], 2, 8.0, 0.9, "CONSTANT_NORMALIZER", 0.05, "K1", False, True, True),
        make_case(11, "full no dual clip symmetric", 7, 5, [5, 3], 0, 0, 1.0, "TOKEN_MEAN", 0.0, "K3", False, False, True, low=0.2, high=0.2, dual=float("inf")),
        make_case(12, "full larger vocab seq-mean-token-sum", 37, 8, [6, 5, 4], 0, 0, 0.8, "SEQ_MEAN_TOKEN_SUM", 0.02, "K3", True, True, True),
    ]
    with open("grpo_golden.json", "w") as f:
        json.dump({"generator": "grpo_golden.py", "numpy": np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
