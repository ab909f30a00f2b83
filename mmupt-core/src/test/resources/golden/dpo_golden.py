#!/usr/bin/env python3
"""Golden vectors for the DPO loss on the LM head, computed independently of the Java code with NumPy.

Run from this folder: python3 dpo_golden.py  (writes dpo_golden.json next to it; deterministic).

Each case draws a head W, a reference head W_ref, hidden states and targets of P preference pairs (sequences in
the order chosen_0, rejected_0, chosen_1, ...), then computes in float64:
  log-softmax of W h / tau and of W_ref h / tau, each sequence's log-prob (sum over its tokens),
  margins m_i = (lp(c_i) - ref(c_i)) - (lp(r_i) - ref(r_i)), the loss mean_i softplus(-beta m_i),
  dL/dlp(c_i) = -beta sigmoid(-beta m_i) / P = -dL/dlp(r_i), and by the chain rule dL/dW and dL/dh.
"""
import json
import numpy as np


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def log_softmax(z):
    zmax = z.max(axis=1, keepdims=True)
    return z - (zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True)))


def softplus(x):
    return np.where(x > 0, x + np.log1p(np.exp(-np.abs(x))), np.log1p(np.exp(np.minimum(x, 0))))


def sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(np.minimum(x, 0)) / (1 + np.exp(np.minimum(x, 0))))


def make_case(seed, name, V, d, lengths, beta, tau, ref_scale):
    rng = np.random.default_rng(seed)
    T = int(sum(lengths))
    P = len(lengths) // 2
    W = rng.normal(0.0, 0.5, size=(V, d))
    W_ref = W + ref_scale * rng.normal(0.0, 0.5, size=(V, d))
    h = f32(rng.normal(0.0, 1.0, size=(T, d)))
    y = rng.integers(0, V, size=T)
    seq = np.repeat(np.arange(len(lengths)), lengths)

    lp_all = log_softmax(h @ W.T / tau)
    ref_all = log_softmax(h @ W_ref.T / tau)
    lp = lp_all[np.arange(T), y]
    ref = ref_all[np.arange(T), y]
    lp_seq = np.bincount(seq, weights=lp, minlength=len(lengths))
    ref_seq = np.bincount(seq, weights=ref, minlength=len(lengths))
    m = (lp_seq[0::2] - ref_seq[0::2]) - (lp_seq[1::2] - ref_seq[1::2])
    loss = float(softplus(-beta * m).mean())
    coef_c = -beta * sigmoid(-beta * m) / P
    coef = np.empty(len(lengths))
    coef[0::2] = coef_c
    coef[1::2] = -coef_c
    g = coef[seq]  # dL/dlp per token
    p = np.exp(lp_all)
    onehot = np.zeros((T, V))
    onehot[np.arange(T), y] = 1.0
    dz = (g / tau)[:, None] * (onehot - p)
    return {
        "name": name, "V": V, "d": d, "lengths": [int(n) for n in lengths], "beta": beta, "tau": tau,
        "W": W.ravel().tolist(), "W_ref": W_ref.ravel().tolist(), "h": h.ravel().tolist(), "y": y.tolist(),
        "expected": {
            "loss": loss, "margins": m.tolist(), "chosenCoefficients": coef_c.tolist(),
            "sequenceLogProbs": lp_seq.tolist(), "gradWeight": (dz.T @ h).ravel().tolist(),
            "gradHidden": (dz @ W).ravel().tolist(),
        },
    }


def main():
    cases = [
        make_case(1, "small", 7, 5, [3, 2, 1, 4], 0.1, 1.0, 0.3),
        make_case(2, "tempered", 11, 6, [2, 5, 3, 3, 1, 2], 0.5, 0.7, 0.5),
        make_case(3, "reference equals policy", 9, 4, [4, 4, 2, 3], 0.1, 1.0, 0.0),
        make_case(5, "saturated", 8, 5, [6, 1, 5, 2], 40.0, 0.5, 2.0),
    ]
    with open("dpo_golden.json", "w") as f:
        json.dump({"cases": cases}, f, indent=None)


if __name__ == "__main__":
    main()
