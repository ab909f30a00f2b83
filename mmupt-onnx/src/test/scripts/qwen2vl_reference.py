#!/usr/bin/env python3
"""An independent NumPy reference of the Qwen2-VL forward pass, for the generated test model.

Written from the architecture (Hugging Face's modeling_qwen2_vl.py: vision patch embedding, 2-D rotary attention
blocks with QuickGELU MLPs and LayerNorm, the 2x2 patch merger with exact GELU; the decoder with RMSNorm, GQA
attention with M-RoPE over (t, h, w) positions from get_rope_index, SwiGLU, the LM head), not from our Java or
our ONNX graphs: it reads only the weights (by their Hugging Face names, stored [in, out]) from the ONNX files and
computes in float64. It also runs the decoder with a KV cache (prefill, then two one-token steps).

Qwen2.5-VL (model_type qwen2_5_vl): RMSNorm and SwiGLU (with biases) in the vision tower; its window attention
is not restated, so the generated Qwen2.5-VL model lists every vision block in fullatt_block_indexes.

Usage: /usr/bin/python3 qwen2vl_reference.py INPUTS_DIR > ../resources/qwen-reference/expected-MODEL_TYPE.json
INPUTS_DIR holds model/ (the generated directory) and inputs.json (ids, response, pixel values, grid), both
written by QwenReferenceTest. Needs Debian's python3-numpy and python3-onnx.
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

EPS = 1e-6


def weights(path):
    model = onnx.load(path)  # loads external data from beside the file
    return {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + EPS) * w + b


def rms_norm(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def vision(W, cfg, pixels, grid):
    v = cfg["vision_config"]
    qwen25 = cfg["model_type"] == "qwen2_5_vl"
    # Qwen2.5-VL calls the vision width hidden_size; with every block in fullatt_block_indexes its window
    # reordering (undone after the merger) does not change the result, so it is left out here
    e = v["hidden_size"] if qwen25 else v["embed_dim"]
    heads, m = v["num_heads"], v["spatial_merge_size"]
    if qwen25:
        assert v["fullatt_block_indexes"] == list(range(v["depth"])), "window attention is not restated here"

    def norm(x, p):
        return rms_norm(x, W[p + ".weight"]) if qwen25 else layer_norm(x, W[p + ".weight"], W[p + ".bias"])

    hd = e // heads
    x = pixels @ W["visual.patch_embed.proj.weight"]
    # rot_pos_emb: (row, column) of each patch in merge-group order, frequencies of dim hd/2 (theta 10000)
    t, h, w = grid
    hpos = np.repeat(np.arange(h)[:, None], w, axis=1).reshape(h // m, m, w // m, m).transpose(0, 2, 1, 3).ravel()
    wpos = np.repeat(np.arange(w)[None, :], h, axis=0).reshape(h // m, m, w // m, m).transpose(0, 2, 1, 3).ravel()
    pos = np.tile(np.stack([hpos, wpos], -1), (t, 1))
    dim = hd // 2
    inv = 1.0 / (10000.0 ** (np.arange(0, dim, 2) / dim))
    rot = (pos[:, :, None] * inv[None, None, :]).reshape(len(pos), -1)
    emb = np.concatenate([rot, rot], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    for i in range(v["depth"]):
        p = f"visual.blocks.{i}"
        n = norm(x, p + ".norm1")
        qkv = (n @ W[p + ".attn.qkv.weight"] + W[p + ".attn.qkv.bias"]).reshape(len(x), 3, heads, hd)
        q, k, val = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = softmax(np.einsum("shd,thd->hst", q, k) / np.sqrt(hd))  # one image: full attention
        ctx = np.einsum("hst,thd->shd", att, val).reshape(len(x), e)
        x = x + ctx @ W[p + ".attn.proj.weight"] + W[p + ".attn.proj.bias"]
        n = norm(x, p + ".norm2")
        if qwen25:  # SwiGLU with biases
            g = n @ W[p + ".mlp.gate_proj.weight"] + W[p + ".mlp.gate_proj.bias"]
            u = (g / (1 + np.exp(-g))) * (n @ W[p + ".mlp.up_proj.weight"] + W[p + ".mlp.up_proj.bias"])
            x = x + u @ W[p + ".mlp.down_proj.weight"] + W[p + ".mlp.down_proj.bias"]
        else:
            u = n @ W[p + ".mlp.fc1.weight"] + W[p + ".mlp.fc1.bias"]
            u = u / (1 + np.exp(-1.702 * u))  # QuickGELU
            x = x + u @ W[p + ".mlp.fc2.weight"] + W[p + ".mlp.fc2.bias"]
    y = norm(x, "visual.merger.ln_q").reshape(-1, e * m * m)
    y = y @ W["visual.merger.mlp.0.weight"] + W["visual.merger.mlp.0.bias"]
    from math import erf, sqrt
    y = 0.5 * y * (1 + np.vectorize(erf)(y / sqrt(2)))
    return y @ W["visual.merger.mlp.2.weight"] + W["visual.merger.mlp.2.bias"]


def rope_index(ids, grid, cfg):
    """get_rope_index for one row, still images (Hugging Face's algorithm)."""
    m = cfg["vision_config"]["spatial_merge_size"]
    vs, pad = cfg["vision_start_token_id"], cfg["image_token_id"]
    pos = [[], [], []]
    st, nxt, i = 0, 0, 0
    grids = list(grid)
    while i < len(ids):
        if ids[i] == pad and i > 0 and ids[i - 1] == vs:
            for k in range(i - st):
                for a in range(3):
                    pos[a].append(nxt + k)
            nxt += i - st
            t, h, w = grids.pop(0)
            lh, lw = h // m, w // m
            for tt in range(t):
                for hh in range(lh):
                    for ww in range(lw):
                        pos[0].append(nxt + tt)
                        pos[1].append(nxt + hh)
                        pos[2].append(nxt + ww)
            nxt = max(max(p) for p in pos) + 1
            i += t * lh * lw
            st = i
        else:
            i += 1
    for k in range(len(ids) - st):
        for a in range(3):
            pos[a].append(nxt + k)
    pos = np.array(pos, dtype=np.int64)
    return pos, int(pos.max()) + 1 - len(ids)


def mrope(pos, cfg, hd):
    """cos and sin [S, hd] from positions [3, S], each section of the head width from its axis."""
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    freqs = pos[:, :, None] * inv[None, None, :]
    emb = np.concatenate([freqs, freqs], -1)
    sections = cfg["rope_scaling"]["mrope_section"] * 2
    out = []
    for f in (np.cos(emb), np.sin(emb)):
        chunks, start = [], 0
        for i, s in enumerate(sections):
            chunks.append(f[i % 3, :, start:start + s])
            start += s
        out.append(np.concatenate(chunks, -1))
    return out


def decoder(W, cfg, x, pos, cache):
    """x [S, H] at positions [3, S] after the cache (a list of (K, V) per layer, [kv, past, hd]); returns the
    final hidden states and the new cache."""
    H, heads, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // heads
    cos, sin = mrope(pos, cfg, hd)
    S = len(x)
    past = cache[0][0].shape[1] if cache else 0
    allowed = np.arange(past + S)[None, :] <= (past + np.arange(S))[:, None]
    new_cache = []
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        n = rms_norm(x, W[p + ".input_layernorm.weight"])
        q = (n @ W[p + ".self_attn.q_proj.weight"] + W[p + ".self_attn.q_proj.bias"]).reshape(S, heads, hd)
        k = (n @ W[p + ".self_attn.k_proj.weight"] + W[p + ".self_attn.k_proj.bias"]).reshape(S, kv, hd)
        v = (n @ W[p + ".self_attn.v_proj.weight"] + W[p + ".self_attn.v_proj.bias"]).reshape(S, kv, hd)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        K = k.transpose(1, 0, 2)
        V = v.transpose(1, 0, 2)
        if cache:
            K = np.concatenate([cache[i][0], K], 1)
            V = np.concatenate([cache[i][1], V], 1)
        new_cache.append((K, V))
        Kr = np.repeat(K, heads // kv, axis=0)  # repeat_kv: each key/value head serves heads / kv query heads
        Vr = np.repeat(V, heads // kv, axis=0)
        scores = np.einsum("shd,htd->hst", q, Kr) / np.sqrt(hd)
        scores = np.where(allowed[None], scores, -np.inf)
        ctx = np.einsum("hst,htd->shd", softmax(scores), Vr).reshape(S, heads * hd)
        x = x + ctx @ W[p + ".self_attn.o_proj.weight"]
        n = rms_norm(x, W[p + ".post_attention_layernorm.weight"])
        g = n @ W[p + ".mlp.gate_proj.weight"]
        x = x + ((g / (1 + np.exp(-g))) * (n @ W[p + ".mlp.up_proj.weight"])) @ W[p + ".mlp.down_proj.weight"]
    return rms_norm(x, W["model.norm.weight"]), new_cache


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def main(inputs_dir):
    model = os.path.join(inputs_dir, "model")
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(inputs_dir, "inputs.json")) as f:
        inp = json.load(f)
    Wv = weights(os.path.join(model, "onnx", "vision_encoder.onnx"))
    We = weights(os.path.join(model, "onnx", "embed_tokens.onnx"))
    Wd = weights(os.path.join(model, "onnx", "decoder_model_merged.onnx"))
    ids, response, grid = inp["ids"], inp["response"], inp["grid"]
    pixels = np.array(inp["pixel_values"], dtype=np.float32).astype(np.float64).reshape(-1, inp["patch_dim"])
    features = vision(Wv, cfg, pixels, grid)
    seq = ids + response
    x = We["model.embed_tokens.weight"][seq]
    pad = [i for i, t in enumerate(ids) if t == cfg["image_token_id"]]
    x[pad] = features  # the image features overwrite the pad tokens' embeddings, in order
    pos, delta = rope_index(ids, [grid], cfg)
    full_pos = np.concatenate([pos, np.tile(np.arange(len(ids), len(seq))[None, :] + delta, (3, 1))], 1)
    hidden, _ = decoder(Wd, cfg, x, full_pos, None)
    P = len(ids)
    rows = hidden[P - 1:P - 1 + len(response)]
    logp = log_softmax(rows @ Wd["lm_head.weight"])[np.arange(len(response)), response]
    # the same with a KV cache: prefill the prompt, then response[0] and response[1] one at a time
    h0, cache = decoder(Wd, cfg, x[:P], pos, None)
    steps = [h0[-1]]
    for j in range(2):
        step_pos = np.full((3, 1), P + j + delta, dtype=np.int64)
        hj, cache = decoder(Wd, cfg, x[P + j:P + j + 1], step_pos, cache)
        steps.append(hj[0])
    print(json.dumps({
        "inputs_sha256": inp["sha256"],
        "rope_delta": delta,
        "positions": pos.tolist(),
        "image_features": features.tolist(),
        "response_hidden": rows.tolist(),
        "response_log_probs": logp.tolist(),
        "cached_hidden": [s.tolist() for s in steps],
        "cached_vs_full_max_abs": float(np.abs(np.array(steps) - hidden[P - 1:P + 2]).max()),
    }, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
