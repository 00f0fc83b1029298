#!/usr/bin/python3
# Independent plain-PyTorch reference for smelt's transformer engine: Llama, Mistral, Qwen2 and Qwen3
# causal LMs written from the math of Hugging Face's modeling_llama/qwen2/qwen3.py (eager attention).
# Reads config.json and safetensors itself (no transformers, no safetensors package). It leaves
# tokenization, chat templates and sampling to others: it takes token ids and does greedy argmax only.
# LoRA training lives in lora_reference.py (reached through this file's lora-* commands).
# Run with /usr/bin/python3 (Debian's python3-torch). Usage: see tests/ref/README.md or --help.

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


class ref_error(Exception):
    """A user-caused problem (bad model dir, bad ids): printed to stderr, exit code 1."""


# ---------------------------------------------------------------------------------------------------
# config.json

ARCHES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
}


class model_config:
    pass


def config_read(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, "rb") as f:
            j = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise ref_error(f"{path}: no such file")
    except (ValueError, UnicodeDecodeError) as e:
        raise ref_error(f"{path}: not valid JSON ({e})")
    if not isinstance(j, dict):
        raise ref_error(f"{path}: expected a JSON object")

    def field(name, kind, default=None, required=False):
        v = j.get(name)
        if v is None:
            if required:
                raise ref_error(f"{path}: {name}: missing")
            return default
        if kind is int and (not isinstance(v, int) or isinstance(v, bool)):
            raise ref_error(f"{path}: {name}: expected an integer, got {json.dumps(v)}")
        if kind is float and (not isinstance(v, (int, float)) or isinstance(v, bool)):
            raise ref_error(f"{path}: {name}: expected a number, got {json.dumps(v)}")
        if kind is bool and not isinstance(v, bool):
            raise ref_error(f"{path}: {name}: expected true/false, got {json.dumps(v)}")
        return kind(v)

    archs = j.get("architectures")
    if not isinstance(archs, list) or not archs or archs[0] not in ARCHES:
        raise ref_error(f"{path}: architectures: expected one of {', '.join(ARCHES)}, "
                        f"got {json.dumps(archs)}")
    c = model_config()
    c.arch = ARCHES[archs[0]]
    c.hidden_size = field("hidden_size", int, required=True)
    c.intermediate_size = field("intermediate_size", int, required=True)
    c.num_hidden_layers = field("num_hidden_layers", int, required=True)
    c.num_attention_heads = field("num_attention_heads", int, required=True)
    c.num_key_value_heads = field("num_key_value_heads", int, c.num_attention_heads)
    c.vocab_size = field("vocab_size", int, required=True)
    for name in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                 "num_key_value_heads", "vocab_size"):
        if getattr(c, name) < 1:
            raise ref_error(f"{path}: {name}: expected a positive integer, got {getattr(c, name)}")
    # HF: getattr(config, "head_dim", None) or hidden_size // num_attention_heads
    c.head_dim = field("head_dim", int, 0) or c.hidden_size // c.num_attention_heads
    if c.head_dim < 2 or c.head_dim % 2:
        raise ref_error(f"{path}: head_dim: expected an even number >= 2, got {c.head_dim}")
    if c.num_attention_heads % c.num_key_value_heads:
        raise ref_error(f"{path}: num_key_value_heads: {c.num_key_value_heads} does not divide "
                        f"num_attention_heads {c.num_attention_heads}")
    c.rms_norm_eps = field("rms_norm_eps", float, 1e-6)
    rope_params = j.get("rope_parameters") if isinstance(j.get("rope_parameters"), dict) else {}
    c.rope_theta = field("rope_theta", float, float(rope_params.get("rope_theta", 10000.0)))
    scaling = j.get("rope_scaling")
    if scaling is None and rope_params.get("rope_type", "default") != "default":
        scaling = rope_params
    c.rope_scaling = None
    if scaling is not None:
        if not isinstance(scaling, dict):
            raise ref_error(f"{path}: rope_scaling: expected an object or null")
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "llama3":
            try:
                c.rope_scaling = {k: float(scaling[k]) for k in (
                    "factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}
            except (KeyError, TypeError, ValueError) as e:
                raise ref_error(f"{path}: rope_scaling: llama3 needs numeric {e}")
        elif kind != "default":
            raise ref_error(f"{path}: rope_scaling: unsupported type {json.dumps(kind)} (supported: llama3)")
    c.tie_word_embeddings = field("tie_word_embeddings", bool, False)
    attention_bias = field("attention_bias", bool, False)
    # Qwen2: q/k/v always biased, o never. Llama and Qwen3: q/k/v/o biased when attention_bias.
    # Mistral: no bias.
    c.qkv_bias = c.arch == "qwen2" or (c.arch in ("llama", "qwen3") and attention_bias)
    c.o_bias = c.arch in ("llama", "qwen3") and attention_bias
    if field("mlp_bias", bool, False):
        raise ref_error(f"{path}: mlp_bias: unsupported true")
    c.qk_norm = c.arch == "qwen3"
    c.sliding_window = 0
    if c.arch == "mistral":
        c.sliding_window = field("sliding_window", int, 0)
    elif c.arch in ("qwen2", "qwen3") and field("use_sliding_window", bool, False):
        raise ref_error(f"{path}: use_sliding_window: unsupported true (per-layer windows)")
    act = j.get("hidden_act", "silu")
    if act != "silu":
        raise ref_error(f"{path}: hidden_act: unsupported {json.dumps(act)} (supported: silu)")
    return c


# ---------------------------------------------------------------------------------------------------
# safetensors: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
# [begin, end]}, "__metadata__": {...}}, then the data; offsets are relative to the byte after the header.

ST_DTYPES = {"BF16": (2, torch.bfloat16), "F16": (2, torch.float16), "F32": (4, torch.float32)}


def safetensors_read(path, wanted=None):
    """Returns {name: tensor} (a copy, in the stored dtype) for the names in WANTED (all when None)."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ref_error(f"{path}: cannot open ({e.strerror})")
    with f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise ref_error(f"{path}: truncated (no header length)")
        (n,) = struct.unpack("<Q", f.read(8))
        if n > size - 8 or n > 100 << 20:
            raise ref_error(f"{path}: header length {n} exceeds the file size {size}")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ref_error(f"{path}: header is not valid JSON ({e})")
        if not isinstance(header, dict):
            raise ref_error(f"{path}: header is not a JSON object")
        data_start = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__" or (wanted is not None and name not in wanted):
                continue
            where = f"{path}: tensor {name}"
            if not isinstance(info, dict):
                raise ref_error(f"{where}: expected an object")
            dtype = info.get("dtype")
            if dtype not in ST_DTYPES:
                raise ref_error(f"{where}: unsupported dtype {json.dumps(dtype)} (supported: BF16, F16, F32)")
            width, tdtype = ST_DTYPES[dtype]
            shape = info.get("shape")
            offs = info.get("data_offsets")
            if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) or
                    not isinstance(offs, list) or len(offs) != 2 or
                    not all(isinstance(o, int) for o in offs)):
                raise ref_error(f"{where}: bad shape or data_offsets")
            begin, end = offs
            count = math.prod(shape)
            if end - begin != count * width or begin < 0:
                raise ref_error(f"{where}: data_offsets {offs} do not hold {dtype} {shape}")
            if data_start + end > size:
                raise ref_error(f"{where}: data ends at byte {data_start + end}, past the end of the file "
                                f"({size} bytes; truncated?)")
            # Read straight into the tensor's memory (no mmap): peak memory stays one copy of the weights.
            # The bytes are little-endian, as this x86/ARM host.
            raw = torch.empty(count, dtype=torch.int16 if width == 2 else torch.float32)
            f.seek(data_start + begin)
            if count and f.readinto(raw.numpy().view(np.uint8)) != end - begin:
                raise ref_error(f"{where}: short read")
            out[name] = (raw.view(tdtype) if width == 2 else raw).reshape(shape)
        return out


def weights_read(model_dir, wanted):
    """Reads WANTED tensors from model.safetensors or the shards named by model.safetensors.index.json."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        try:
            with open(index, "rb") as f:
                weight_map = json.loads(f.read().decode("utf-8"))["weight_map"]
            if not isinstance(weight_map, dict):
                raise TypeError("weight_map is not an object")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise ref_error(f"{index}: expected {{\"weight_map\": {{tensor: file}}}} ({e})")
        by_file = {}
        for name in wanted:
            if name in weight_map:
                by_file.setdefault(weight_map[name], set()).add(name)
        out = {}
        for shard, names in sorted(by_file.items()):
            if os.path.basename(shard) != shard:
                raise ref_error(f"{index}: weight_map: shard name {json.dumps(shard)} "
                                "is not a plain file name")
            got = safetensors_read(os.path.join(model_dir, shard), names)
            for name in names:
                if name not in got:
                    raise ref_error(f"{os.path.join(model_dir, shard)}: tensor {name} missing "
                                    f"(the index puts it there)")
            out.update(got)
        return out, index
    if os.path.exists(single):
        return safetensors_read(single, set(wanted)), single
    raise ref_error(f"{model_dir}: no model.safetensors or model.safetensors.index.json")


# ---------------------------------------------------------------------------------------------------
# The model


def rms_norm(x, weight, eps):
    # HF LlamaRMSNorm: fp32 statistics, cast back to the input dtype, then times the weight.
    # (float64 stays float64: the LoRA self-checks take finite differences in float64.)
    dtype = x.dtype
    h = x if dtype == torch.float64 else x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(dtype)


def rope_inv_freq(c):
    # HF _compute_default_rope_parameters: 1 / theta^(arange(0, D, 2) / D), float32.
    d = c.head_dim
    inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    s = c.rope_scaling
    if s is None:
        return inv_freq
    # HF _compute_llama3_parameters: long wavelengths divided by factor, short ones kept, a smooth blend
    # in between.
    factor, low, high, old_len = (s["factor"], s["low_freq_factor"], s["high_freq_factor"],
                                  s["original_max_position_embeddings"])
    low_freq_wavelen = old_len / low
    high_freq_wavelen = old_len / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
    medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return torch.where(medium, smoothed, inv_freq_llama)


def rope_cos_sin(inv_freq, positions, dtype):
    # positions (T,) int64 -> cos, sin (T, D) in DTYPE; angles in fp32 as HF's rotary embedding.
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_apply(x, cos, sin):
    # x (H, T, D); cos, sin (T, D). The "rotate_half" layout: dim i pairs with dim i + D/2.
    return x * cos + rotate_half(x) * sin


def attention_mask(q_pos, k_len, window):
    # (T, S) bool, True where query at absolute position q_pos[t] may see key s: s <= q_pos[t] and, with a
    # sliding window, q_pos[t] - s < window.
    k_pos = torch.arange(k_len)
    ok = k_pos[None, :] <= q_pos[:, None]
    if window:
        ok &= (q_pos[:, None] - k_pos[None, :]) < window
    return ok


def attention(q, k, v, mask, grouped):
    # q (H, T, D); k, v (KVH, S, D); mask (T, S) bool or None (all visible) -> (H, T, D).
    # Query head h reads KV head h // (H / KVH), as HF's repeat_kv. GROUPED computes the same products
    # without copying K/V per query head (the fast path for the benchmark).
    h, t, d = q.shape
    kvh = k.shape[0]
    rep = h // kvh
    scale = 1.0 / math.sqrt(d)
    if grouped:
        scores = torch.matmul(q.reshape(kvh, rep * t, d), k.transpose(1, 2)).view(h, t, -1) * scale
    else:
        k = k[:, None].expand(kvh, rep, *k.shape[1:]).reshape(h, *k.shape[1:])
        v = v[:, None].expand(kvh, rep, *v.shape[1:]).reshape(h, *v.shape[1:])
        scores = torch.matmul(q, k.transpose(1, 2)) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    probs = torch.softmax(scores, dim=-1, dtype=acc).to(q.dtype)
    if grouped:
        return torch.matmul(probs.view(kvh, rep * t, -1), v).view(h, t, d)
    return torch.matmul(probs, v)


class kv_cache:
    """Per-layer K and V (KVH, capacity, D) after RoPE, in the model dtype; LENGTH positions filled."""

    def __init__(self, c, capacity, dtype):
        shape = (c.num_key_value_heads, capacity, c.head_dim)
        self.k = [torch.zeros(shape, dtype=dtype) for _ in range(c.num_hidden_layers)]
        self.v = [torch.zeros(shape, dtype=dtype) for _ in range(c.num_hidden_layers)]
        self.capacity = capacity
        self.length = 0


class model:
    """Weights of one model dir in DTYPE (float32: upcast; bfloat16: as HF with torch_dtype=bfloat16)."""

    def __init__(self, model_dir, dtype=torch.float32, grouped=False):
        self.c = c = config_read(model_dir)
        self.dtype = dtype
        self.grouped = grouped
        hd, h, kv, inter = c.head_dim, c.hidden_size, c.num_key_value_heads, c.intermediate_size
        q_out, kv_out = c.num_attention_heads * hd, kv * hd
        shapes = {"model.embed_tokens.weight": (c.vocab_size, h), "model.norm.weight": (h,)}
        if not c.tie_word_embeddings:
            shapes["lm_head.weight"] = (c.vocab_size, h)
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}."
            shapes.update({
                p + "input_layernorm.weight": (h,),
                p + "post_attention_layernorm.weight": (h,),
                p + "self_attn.q_proj.weight": (q_out, h),
                p + "self_attn.k_proj.weight": (kv_out, h),
                p + "self_attn.v_proj.weight": (kv_out, h),
                p + "self_attn.o_proj.weight": (h, q_out),
                p + "mlp.gate_proj.weight": (inter, h),
                p + "mlp.up_proj.weight": (inter, h),
                p + "mlp.down_proj.weight": (h, inter),
            })
            if c.qkv_bias:
                shapes.update({p + "self_attn.q_proj.bias": (q_out,), p + "self_attn.k_proj.bias": (kv_out,),
                               p + "self_attn.v_proj.bias": (kv_out,)})
            if c.o_bias:
                shapes[p + "self_attn.o_proj.bias"] = (h,)
            if c.qk_norm:
                shapes.update({p + "self_attn.q_norm.weight": (hd,), p + "self_attn.k_norm.weight": (hd,)})
        got, source = weights_read(model_dir, shapes)
        for name, shape in shapes.items():
            if name not in got:
                raise ref_error(f"{source}: tensor {name} missing")
            if tuple(got[name].shape) != shape:
                raise ref_error(f"{source}: tensor {name}: shape {list(got[name].shape)}, "
                                f"expected {list(shape)}")
        self.w = {name: t.to(dtype).contiguous() for name, t in got.items()}
        self.inv_freq = rope_inv_freq(c)

    def weight(self, name):
        return self.w.get(name)

    def proj(self, i, name, x):
        # Layer I's linear NAME ("self_attn.q_proj", "mlp.down_proj", ...) applied to x; the LoRA
        # reference (lora_reference.py) overrides this to add its low-rank term.
        p = f"model.layers.{i}.{name}."
        return F.linear(x, self.w[p + "weight"], self.w.get(p + "bias"))

    def layer_forward(self, i, x, cos, sin, mask, cache, start):
        # x (T, hidden) -> (T, hidden); writes this layer's K/V at [start, start+T) when CACHE is given.
        c, w, p = self.c, self.w, f"model.layers.{i}."
        t = x.shape[0]
        hd, nh, nkv = c.head_dim, c.num_attention_heads, c.num_key_value_heads
        residual = x
        x = rms_norm(x, w[p + "input_layernorm.weight"], c.rms_norm_eps)
        q = self.proj(i, "self_attn.q_proj", x)
        k = self.proj(i, "self_attn.k_proj", x)
        v = self.proj(i, "self_attn.v_proj", x)
        q = q.view(t, nh, hd)
        k = k.view(t, nkv, hd)
        if c.qk_norm:  # Qwen3: per-head RMSNorm over head_dim, before RoPE
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c.rms_norm_eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c.rms_norm_eps)
        q = rope_apply(q.transpose(0, 1), cos, sin)
        k = rope_apply(k.transpose(0, 1), cos, sin)
        v = v.view(t, nkv, hd).transpose(0, 1)
        if cache is not None:
            cache.k[i][:, start:start + t] = k
            cache.v[i][:, start:start + t] = v
            k = cache.k[i][:, :start + t]
            v = cache.v[i][:, :start + t]
        a = attention(q, k, v, mask, self.grouped)  # (H, T, D)
        a = a.transpose(0, 1).reshape(t, nh * hd)
        x = residual + self.proj(i, "self_attn.o_proj", a)
        residual = x
        x = rms_norm(x, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps)
        gate = self.proj(i, "mlp.gate_proj", x)
        up = self.proj(i, "mlp.up_proj", x)
        return residual + self.proj(i, "mlp.down_proj", F.silu(gate) * up)

    def forward(self, ids, cache=None, hidden_out=None, last_only=False, positions=None, mask=None,
                rows=None):
        """ids (T,) int64 -> logits (T, V) in the model dtype (last row only when LAST_ONLY).
        With CACHE, the ids continue the cached sequence. HIDDEN_OUT (a list) gets each layer's output.
        Without a cache, POSITIONS (T,) and MASK (T, T) bool may replace 0..T-1 and the causal mask
        (packed samples); ROWS (int64 index tensor) picks the positions whose logits are returned."""
        c, w = self.c, self.w
        ids = torch.as_tensor(ids, dtype=torch.int64)
        t = ids.shape[0]
        start = cache.length if cache is not None else 0
        if cache is not None and start + t > cache.capacity:
            raise ref_error(f"kv cache: {start + t} positions exceed its capacity {cache.capacity}")
        if positions is None:
            positions = torch.arange(start, start + t)
            if t > 1 or c.sliding_window:
                mask = attention_mask(positions, start + t, c.sliding_window)
        elif cache is not None:
            raise ref_error("forward: explicit positions are not supported with a KV cache")
        cos, sin = rope_cos_sin(self.inv_freq, positions, self.dtype)
        x = F.embedding(ids, w["model.embed_tokens.weight"])
        for i in range(c.num_hidden_layers):
            x = self.layer_forward(i, x, cos, sin, mask, cache, start)
            if hidden_out is not None:
                hidden_out.append(x)
        if cache is not None:
            cache.length = start + t
        if last_only:
            x = x[-1:]
        elif rows is not None:
            x = x[rows]
        x = rms_norm(x, w["model.norm.weight"], c.rms_norm_eps)
        head = w["model.embed_tokens.weight"] if c.tie_word_embeddings else w["lm_head.weight"]
        return F.linear(x, head)


def greedy_full(m, ids, new):
    """N greedy ids, recomputing the whole sequence every step; also the last-row logits of each step."""
    seq, out, rows = list(ids), [], []
    for _ in range(new):
        row = m.forward(seq)[-1].float()
        nxt = int(torch.argmax(row))  # ties -> lowest id
        rows.append(row)
        out.append(nxt)
        seq.append(nxt)
    return out, rows


def greedy_cached(m, ids, new):
    """N greedy ids with a KV cache: one prefill over IDS, then one token per step."""
    cache = kv_cache(m.c, len(ids) + new, m.dtype)
    row = m.forward(ids, cache, last_only=True)[-1].float()
    out, rows = [], []
    for step in range(new):
        nxt = int(torch.argmax(row))
        rows.append(row)
        out.append(nxt)
        if step + 1 < new:
            row = m.forward([nxt], cache)[-1].float()
    return out, rows


# ---------------------------------------------------------------------------------------------------
# selftest: the reference against itself and against values derived by hand. The float64 numpy code
# below is a second, deliberately naive implementation (scalar loops over heads and positions, RoPE
# written as explicit pair rotations) so that a slip in the torch code shows up as a mismatch.


def scalar_inv_freq(c, i):
    # Frequency of RoPE pair i, written from the formulas (Meta's llama3 scaling as stated in the
    # Llama 3.1 release: keep high frequencies, divide low ones by factor, blend in between).
    f = c.rope_theta ** (-(2.0 * i) / c.head_dim)
    s = c.rope_scaling
    if s is None:
        return f
    wavelen = 2 * math.pi / f
    lo_wl = s["original_max_position_embeddings"] / s["low_freq_factor"]
    hi_wl = s["original_max_position_embeddings"] / s["high_freq_factor"]
    if wavelen < hi_wl:
        return f
    if wavelen > lo_wl:
        return f / s["factor"]
    smooth = (s["original_max_position_embeddings"] / wavelen - s["low_freq_factor"]) / (
        s["high_freq_factor"] - s["low_freq_factor"])
    return (1 - smooth) * f / s["factor"] + smooth * f


def np_rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x) + eps) * w


def np_forward(m, ids, window=0):
    """Logits (T, V) in float64, one position and one head at a time."""
    c = m.c
    w = {k: v.double().numpy() for k, v in m.w.items()}
    hd, nh, nkv = c.head_dim, c.num_attention_heads, c.num_key_value_heads
    half = hd // 2
    freqs = [scalar_inv_freq(c, i) for i in range(half)]

    def rot(vec, pos):
        out = np.empty_like(vec)
        for i in range(half):
            a = pos * freqs[i]
            out[i] = vec[i] * math.cos(a) - vec[i + half] * math.sin(a)
            out[i + half] = vec[i + half] * math.cos(a) + vec[i] * math.sin(a)
        return out

    def lin(name, x):
        y = w[name] @ x
        return y + w[name[:-len("weight")] + "bias"] if name[:-len("weight")] + "bias" in w else y

    xs = [w["model.embed_tokens.weight"][i].copy() for i in ids]
    for layer in range(c.num_hidden_layers):
        p = f"model.layers.{layer}."
        qs, ks, vs = [], [], []
        for t, x in enumerate(xs):
            n = np_rms(x, w[p + "input_layernorm.weight"], c.rms_norm_eps)
            q = lin(p + "self_attn.q_proj.weight", n).reshape(nh, hd)
            k = lin(p + "self_attn.k_proj.weight", n).reshape(nkv, hd)
            v = lin(p + "self_attn.v_proj.weight", n).reshape(nkv, hd)
            if c.qk_norm:
                qn, kn = w[p + "self_attn.q_norm.weight"], w[p + "self_attn.k_norm.weight"]
                q = np.stack([np_rms(q[h], qn, c.rms_norm_eps) for h in range(nh)])
                k = np.stack([np_rms(k[h], kn, c.rms_norm_eps) for h in range(nkv)])
            qs.append([rot(q[h], t) for h in range(nh)])
            ks.append([rot(k[h], t) for h in range(nkv)])
            vs.append(v)
        new = []
        for t, x in enumerate(xs):
            heads = []
            for h in range(nh):
                g = h // (nh // nkv)
                seen = [j for j in range(t + 1) if not window or t - j < window]
                sc = np.array([qs[t][h] @ ks[j][g] for j in seen]) / math.sqrt(hd)
                pr = np.exp(sc - sc.max())
                pr /= pr.sum()
                heads.append(sum(pr[n] * vs[j][g] for n, j in enumerate(seen)))
            h1 = x + lin(p + "self_attn.o_proj.weight", np.concatenate(heads))
            n2 = np_rms(h1, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps)
            gate, up = w[p + "mlp.gate_proj.weight"] @ n2, w[p + "mlp.up_proj.weight"] @ n2
            new.append(h1 + w[p + "mlp.down_proj.weight"] @ (gate / (1 + np.exp(-gate)) * up))
        xs = new
    head = w["model.embed_tokens.weight"] if c.tie_word_embeddings else w["lm_head.weight"]
    return np.stack([head @ np_rms(x, w["model.norm.weight"], c.rms_norm_eps) for x in xs])


def np_single_token(m, token):
    """Logits (V,) of a one-token input, by hand: softmax over one key is 1, so attention returns that
    token's V projection (per KV group) and each layer is x + o(v(norm(x))) + mlp(norm(...))."""
    c = m.c
    w = {k: v.double().numpy() for k, v in m.w.items()}
    rep = c.num_attention_heads // c.num_key_value_heads
    x = w["model.embed_tokens.weight"][token]
    for layer in range(c.num_hidden_layers):
        p = f"model.layers.{layer}."
        n = np_rms(x, w[p + "input_layernorm.weight"], c.rms_norm_eps)
        v = w[p + "self_attn.v_proj.weight"] @ n + w.get(p + "self_attn.v_proj.bias", 0)
        attn = np.repeat(v.reshape(c.num_key_value_heads, c.head_dim), rep, axis=0).reshape(-1)
        x = x + w[p + "self_attn.o_proj.weight"] @ attn + w.get(p + "self_attn.o_proj.bias", 0)
        n = np_rms(x, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps)
        gate = w[p + "mlp.gate_proj.weight"] @ n
        up = w[p + "mlp.up_proj.weight"] @ n
        x = x + w[p + "mlp.down_proj.weight"] @ (gate / (1 + np.exp(-gate)) * up)
    head = w["model.embed_tokens.weight"] if c.tie_word_embeddings else w["lm_head.weight"]
    return head @ np_rms(x, w["model.norm.weight"], c.rms_norm_eps)


def nmse(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.sum((got - want) ** 2) / max(np.sum(want ** 2), 1e-300))


def selftest_run(model_dir):
    """Runs every check on MODEL_DIR, prints one JSON line per check; returns the number that failed."""
    m32 = model(model_dir, torch.float32)
    c = m32.c
    gen = torch.Generator().manual_seed(1234)
    ids = torch.randint(0, c.vocab_size, (12,), generator=gen).tolist()
    failed = 0

    def report(name, ok, **facts):
        nonlocal failed
        failed += 0 if ok else 1
        print(json.dumps({"check": name, "ok": bool(ok), **facts}))

    # RoPE: position 0 is the identity, bit for bit.
    x = torch.randn(c.num_attention_heads, 1, c.head_dim, generator=gen)
    cos, sin = rope_cos_sin(m32.inv_freq, torch.tensor([0]), torch.float32)
    report("rope_position0_identity", torch.equal(rope_apply(x, cos, sin), x))

    # RoPE layout and frequencies by hand: unit vector e_i at position p turns into cos(p f_i) e_i +
    # sin(p f_i) e_{i+D/2} (rotate_half pairs i with i + D/2, not 2i with 2i+1).
    half, pos = c.head_dim // 2, 37
    cos, sin = rope_cos_sin(m32.inv_freq, torch.tensor([pos]), torch.float32)
    worst = 0.0
    for i in range(half):
        e = torch.zeros(1, 1, c.head_dim)
        e[0, 0, i] = 1
        want = torch.zeros(c.head_dim, dtype=torch.float64)
        a = pos * scalar_inv_freq(c, i)
        want[i], want[i + half] = math.cos(a), math.sin(a)
        worst = max(worst, float((rope_apply(e, cos, sin)[0, 0].double() - want).abs().max()))
    # float32 angles pos * f: absolute error ~ pos * 2^-24 relative, about 4e-6 at position 37.
    report("rope_layout_by_hand", worst < 2e-5, max_abs_err=worst, position=pos)
    rel = max(abs(float(m32.inv_freq[i]) / scalar_inv_freq(c, i) - 1) for i in range(half))
    report("rope_inv_freq_by_hand", rel < 1e-6, max_rel_err=rel,
           scaling="llama3" if c.rope_scaling else "none")  # float32 vs float64 rounding: ~1e-7

    # One token: attention of one token is its V projection, so logits follow by hand.
    token = ids[0]
    got = m32.forward([token])[0].double().numpy()
    # float32 vs float64 over a few layers: NMSE ~1e-13; 1e-10 leaves room yet catches any real slip.
    e1 = nmse(got, np_single_token(m32, token))
    report("single_token_by_hand", e1 < 1e-10, nmse=e1)

    # Whole sequence against the naive float64 implementation.
    seq = ids[:6]
    got = m32.forward(seq).double().numpy()
    e2 = nmse(got, np_forward(m32, seq, window=c.sliding_window))
    report("sequence_vs_naive_float64", e2 < 1e-10, nmse=e2, tokens=len(seq))

    # Causality: changing the last token leaves every earlier row unchanged.
    full = m32.forward(ids)
    other = ids[:-1] + [(ids[-1] + 1) % c.vocab_size]
    d = float((m32.forward(other)[:-1] - full[:-1]).abs().max())
    report("causal", d <= 1e-6 * float(full.abs().max()), max_abs_diff=d)

    # KV cache: a prefill, a chunk and single tokens reproduce the full recomputation.
    cache = kv_cache(c, len(ids), torch.float32)
    rows = [m32.forward(ids[:5], cache), m32.forward(ids[5:9], cache)]
    rows += [m32.forward([t], cache) for t in ids[9:]]
    d = float((torch.cat(rows) - full).abs().max())
    scale = float(full.abs().max())
    report("kv_cache_vs_full", d <= 1e-5 * scale, max_abs_diff=d, max_abs_logit=scale)
    g_full, _ = greedy_full(m32, ids[:4], 6)
    g_cached, _ = greedy_cached(m32, ids[:4], 6)
    report("greedy_cached_vs_full", g_full == g_cached, ids_full=g_full, ids_cached=g_cached)

    # Grouped-query fast path (used by the benchmark) equals repeat_kv.
    m32.grouped = True
    d = float((m32.forward(ids) - full).abs().max())
    m32.grouped = False
    report("grouped_vs_repeat_kv", d <= 1e-5 * scale, max_abs_diff=d)

    # Sliding window (Mistral; the configured window is restored after): window >= T is full attention;
    # window 1 sees only the token itself, so each row is that token's one-token logits; window 2
    # against the naive implementation.
    saved = c.sliding_window
    try:
        c.sliding_window = 0
        no_window = m32.forward(ids)
        c.sliding_window = len(ids)
        d_big = float((m32.forward(ids) - no_window).abs().max())
        c.sliding_window = 1
        w1 = m32.forward(ids[:5])
        d_one = max(float((w1[t] - m32.forward([ids[t]])[0]).abs().max()) for t in range(5))
        c.sliding_window = 2
        e_w2 = nmse(m32.forward(ids[:5]).double().numpy(), np_forward(m32, ids[:5], window=2))
    finally:
        c.sliding_window = saved
    report("sliding_window", d_big <= 1e-6 * scale and d_one <= 1e-5 * scale and e_w2 < 1e-10,
           window_ge_T_diff=d_big, window1_diff=d_one, window2_nmse=e_w2)

    # bf16 as HF runs it: weights and activations bf16 (norms, softmax, RoPE angles fp32 inside). Each
    # bf16 rounding has relative error <= 2^-9; a few dozen of them in a row give logits with relative
    # RMS error of order 1e-2, i.e. NMSE ~1e-4. 3e-3 (RMS 5%) flags a real slip, not rounding.
    m16 = model(model_dir, torch.bfloat16)
    l16 = m16.forward(ids).float()
    e3 = nmse(l16.numpy(), full.numpy())
    report("bf16_vs_f32", e3 < 3e-3, nmse=e3)
    cache = kv_cache(c, len(ids), torch.bfloat16)
    rows = torch.cat([m16.forward(ids[:5], cache)] + [m16.forward([t], cache) for t in ids[5:]]).float()
    e4 = nmse(rows.numpy(), l16.numpy())
    # Only rounding order differs (other matmul shapes): well below bf16 vs f32.
    report("bf16_kv_cache_vs_full", e4 < 1e-3, nmse=e4)
    return failed


# ---------------------------------------------------------------------------------------------------
# Command line

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def parse_ids(text, vocab):
    try:
        ids = [int(s) for s in text.split(",") if s.strip() != ""]
    except ValueError:
        raise ref_error(f"--ids: expected comma-separated integers, got {json.dumps(text)}")
    if not ids:
        raise ref_error("--ids: no token ids given")
    for pos, i in enumerate(ids):
        if not 0 <= i < vocab:
            raise ref_error(f"--ids: id {i} at position {pos} is outside the vocabulary (vocab_size {vocab})")
    return ids


def cmd_logits(args):
    m = model(args.model_dir, DTYPES[args.dtype])
    ids = parse_ids(args.ids, m.c.vocab_size)
    with torch.inference_mode():
        logits = m.forward(ids).float().contiguous()
    try:
        with open(args.out, "wb") as f:
            f.write(logits.numpy().astype("<f4").tobytes())
    except OSError as e:
        raise ref_error(f"{args.out}: cannot write ({e.strerror})")
    print(json.dumps({"tokens": logits.shape[0], "vocab": logits.shape[1]}))


def cmd_greedy(args):
    m = model(args.model_dir, DTYPES[args.dtype])
    ids = parse_ids(args.ids, m.c.vocab_size)
    with torch.inference_mode():
        out, _ = greedy_full(m, ids, args.new)
    print(json.dumps({"ids": out}))


def cmd_cached(args):
    m = model(args.model_dir, DTYPES[args.dtype])
    ids = parse_ids(args.ids, m.c.vocab_size)
    with torch.inference_mode():
        full, full_rows = greedy_full(m, ids, args.new)
        cached, cached_rows = greedy_cached(m, ids, args.new)
    diff = max((float((a - b).abs().max()) for a, b in zip(full_rows, cached_rows)), default=0.0)
    print(json.dumps({"ids": cached, "ids_full_recompute": full, "equal": cached == full,
                      "max_abs_logit_diff": diff}))
    if cached != full:
        raise ref_error("cached: KV-cache greedy ids differ from full recomputation")


def cmd_selftest(args):
    with torch.inference_mode():
        failed = selftest_run(args.model_dir)
    if failed:
        raise ref_error(f"selftest: {failed} check(s) failed")


def main(argv):
    if argv and (argv[0].startswith("lora-") or argv[0] == "selftest-lora"):
        # LoRA training reference: lora_reference.py (kept apart to keep this file within size).
        sys.dont_write_bytecode = True
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import lora_reference
        return lora_reference.main(argv)
    ap = argparse.ArgumentParser(
        prog="hf_reference.py",
        description="Plain-PyTorch reference forward pass for Llama/Mistral/Qwen2/Qwen3 model dirs. "
                    "LoRA training (lora_reference.py): lora-init, lora-grads, lora-eval, lora-train, "
                    "selftest-lora (each with --help).")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, ids=True):
        p.add_argument("model_dir")
        if ids:
            p.add_argument("--ids", required=True, help="comma-separated token ids")
        p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")

    p = sub.add_parser("logits", help="logits of every position as raw float32 [T, V] to --out")
    common(p)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_logits)
    for name, fn, what in (("greedy", cmd_greedy, "greedy continuation, full recompute each step"),
                           ("cached", cmd_cached, "greedy continuation with a KV cache, checked against "
                                                  "full recomputation")):
        p = sub.add_parser(name, help=what)
        common(p)
        p.add_argument("--new", type=int, required=True)
        p.set_defaults(fn=fn)
    p = sub.add_parser("selftest", help="check this reference against itself and hand-derived values")
    p.add_argument("model_dir")
    p.set_defaults(fn=cmd_selftest)
    args = ap.parse_args(argv)
    if getattr(args, "new", 1) < 1:
        ap.error("--new: expected a positive count")
    try:
        args.fn(args)
    except ref_error as e:
        print(f"hf_reference.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
