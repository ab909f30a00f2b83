#!/usr/bin/env python3
"""Independent reference for the LoRA adapters' gradients through the tiny family's decoder.

A plain NumPy float64 forward and hand-written backward of the decoder that TinyVlmBuilder writes (learned
positions, pre-norm blocks: RMSNorm, causal multi-head attention, ReLU MLP, a final RMSNorm), with a LoRA on
every projection: Y = X W + (alpha / r) (X A^T) B^T, A [r x in], B [out x r]. The loss is sum(seed * hidden);
the seed is zero at the padded first position, as in training. It shares no code with the Java library: the
Java test builds the ONNX decoder from these weights, derives its gradient graph and compares.

Run from this directory: python3 lora_backprop.py > lora_backprop.json
"""
import json

import numpy as np

D, LAYERS, HEADS, MLP, POSITIONS, T = 8, 2, 2, 12, 8, 5
RANK, ALPHA = 2, 4.0
EPS = 1e-6
MASKED = -1e9
HD = D // HEADS
rng = np.random.default_rng(20261207)


def f32(a):
    # the values the ONNX graph will hold: float32, then widened for the float64 computation
    return np.asarray(a, dtype=np.float32).astype(np.float64)


weights = {"decoder.positions": f32(rng.normal(0, 0.5, (POSITIONS, D)))}
adapters = {}
shapes = {"q": (D, D), "k": (D, D), "v": (D, D), "o": (D, D), "up": (D, MLP), "down": (MLP, D)}
for i in range(LAYERS):
    weights[f"layers.{i}.norm1"] = f32(1 + 0.1 * rng.normal(size=D))
    weights[f"layers.{i}.norm2"] = f32(1 + 0.1 * rng.normal(size=D))
    for p, (n_in, n_out) in shapes.items():
        weights[f"layers.{i}.{p}"] = f32(rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)))
        adapters[f"layers.{i}.{p}.lora_A.weight"] = f32(rng.normal(0, 0.3, (RANK, n_in)))
        adapters[f"layers.{i}.{p}.lora_B.weight"] = f32(rng.normal(0, 0.3, (n_out, RANK)))
weights["norm.final"] = f32(1 + 0.1 * rng.normal(size=D))
embeds = f32(rng.normal(0, 1, (T, D)))
mask = np.array([0, 1, 1, 1, 1])
positions = np.array([0, 0, 1, 2, 3])
seed = f32(rng.normal(0, 1, (T, D)))
seed[0] = 0.0
S = ALPHA / RANK


def rms_forward(x, g):
    r = np.sqrt((x * x).mean(-1, keepdims=True) + EPS)
    return x / r * g, (x, r, g)


def rms_backward(dy, cache):
    x, r, g = cache
    gd = dy * g
    return gd / r - x * (gd * x).sum(-1, keepdims=True) / (D * r ** 3)


def proj_forward(x, name):
    w, a, b = weights[name], adapters[name + ".lora_A.weight"], adapters[name + ".lora_B.weight"]
    xa = x @ a.T
    return x @ w + S * xa @ b.T, (x, xa, name)


def proj_backward(dy, cache, grads):
    x, xa, name = cache
    w, a, b = weights[name], adapters[name + ".lora_A.weight"], adapters[name + ".lora_B.weight"]
    grads[name + ".lora_B.weight"] = S * dy.T @ xa
    dyb = dy @ b
    grads[name + ".lora_A.weight"] = S * dyb.T @ x
    return dy @ w.T + S * dyb @ a


# ------------------------------------------------------------------ forward
q_idx = np.arange(T)[:, None]
k_idx = np.arange(T)[None, :]
bias = np.where((k_idx <= q_idx) & (mask[None, :] == 1), 0.0, MASKED)
x = embeds + weights["decoder.positions"][positions]
caches = []
for i in range(LAYERS):
    n1, c_n1 = rms_forward(x, weights[f"layers.{i}.norm1"])
    q, c_q = proj_forward(n1, f"layers.{i}.q")
    k, c_k = proj_forward(n1, f"layers.{i}.k")
    v, c_v = proj_forward(n1, f"layers.{i}.v")
    qh, kh, vh = (t.reshape(T, HEADS, HD).transpose(1, 0, 2) for t in (q, k, v))
    scores = qh @ kh.transpose(0, 2, 1) / np.sqrt(HD) + bias
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(-1, keepdims=True)
    ctx = (probs @ vh).transpose(1, 0, 2).reshape(T, D)
    o, c_o = proj_forward(ctx, f"layers.{i}.o")
    x = x + o
    n2, c_n2 = rms_forward(x, weights[f"layers.{i}.norm2"])
    pre, c_up = proj_forward(n2, f"layers.{i}.up")
    up = np.maximum(pre, 0)
    down, c_down = proj_forward(up, f"layers.{i}.down")
    x = x + down
    caches.append((c_n1, c_q, c_k, c_v, qh, kh, vh, probs, c_o, c_n2, c_up, pre, c_down))
hidden, c_final = rms_forward(x, weights["norm.final"])

# ------------------------------------------------------------------ backward of sum(seed * hidden)
grads = {}
dx = rms_backward(seed, c_final)
for i in reversed(range(LAYERS)):
    c_n1, c_q, c_k, c_v, qh, kh, vh, probs, c_o, c_n2, c_up, pre, c_down = caches[i]
    dup = proj_backward(dx, c_down, grads)
    dpre = dup * (pre > 0)
    dn2 = proj_backward(dpre, c_up, grads)
    dx = dx + rms_backward(dn2, c_n2)
    dctx = proj_backward(dx, c_o, grads)
    dctxh = dctx.reshape(T, HEADS, HD).transpose(1, 0, 2)
    dprobs = dctxh @ vh.transpose(0, 2, 1)
    dvh = probs.transpose(0, 2, 1) @ dctxh
    dscores = probs * (dprobs - (dprobs * probs).sum(-1, keepdims=True)) / np.sqrt(HD)
    dqh = dscores @ kh
    dkh = dscores.transpose(0, 2, 1) @ qh
    dq, dk, dv = (t.transpose(1, 0, 2).reshape(T, D) for t in (dqh, dkh, dvh))
    dn1 = proj_backward(dq, c_q, grads) + proj_backward(dk, c_k, grads) + proj_backward(dv, c_v, grads)
    dx = dx + rms_backward(dn1, c_n1)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


print(json.dumps({
    "config": {"hiddenSize": D, "layers": LAYERS, "heads": HEADS, "mlpSize": MLP, "maxPositions": POSITIONS,
               "sequence": T, "rank": RANK, "alpha": ALPHA},
    "weights": {k: flat(v) for k, v in weights.items()},
    "adapters": {k: flat(v) for k, v in adapters.items()},
    "inputs_embeds": flat(embeds), "attention_mask": [int(m) for m in mask],
    "position_ids": [int(p) for p in positions], "seed": flat(seed),
    "hidden_states": flat(hidden),
    "gradients": {k: flat(grads[k]) for k in adapters},
}, indent=1))
