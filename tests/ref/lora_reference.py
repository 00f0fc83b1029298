#!/usr/bin/python3
# Independent plain-PyTorch reference for smelt's LoRA training: PEFT adapter dirs (read/write, its own
# safetensors writer), the masked, packed, globally normalised step loss, its LoRA gradients (autograd),
# and a training loop with torch.optim.AdamW, clip_grad_norm_ and HF's LR schedules. The forward pass is
# hf_reference.py's; this module adds the LoRA term to its linears. Tokenization and chat masks are left to
# others: samples arrive as ids + trained flags. Run with /usr/bin/python3; usage in tests/ref/README.md.

import argparse
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402
from hf_reference import ref_error  # noqa: E402

# PEFT target name -> the module path inside a decoder layer, in the order the layer applies them.
TARGETS = {
    "q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
    "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
    "down_proj": "mlp.down_proj",
}


def target_shape(c, target):
    """(out_features, in_features) of TARGET's linear in a model of config C."""
    q_out, kv_out = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    h, inter = c.hidden_size, c.intermediate_size
    return {"q_proj": (q_out, h), "k_proj": (kv_out, h), "v_proj": (kv_out, h), "o_proj": (h, q_out),
            "gate_proj": (inter, h), "up_proj": (inter, h), "down_proj": (h, inter)}[target]


def peft_name(layer, target, which):
    return f"base_model.model.model.layers.{layer}.{TARGETS[target]}.lora_{which}.weight"


# ---------------------------------------------------------------------------------------------------
# safetensors writer: u64 LE header length, JSON header padded with spaces to a multiple of 8 (so the
# data starts 8-byte aligned), then each tensor's little-endian bytes back to back in header order.

def safetensors_write(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except OSError as e:
        raise ref_error(f"{path}: cannot write ({e.strerror})")


# ---------------------------------------------------------------------------------------------------
# PEFT adapter dirs

class adapter:
    """r, alpha, rslora, targets (PEFT order), dropout (recorded, never applied here), config (the JSON
    object) and params {peft name: fp32 tensor}."""

    @property
    def scale(self):
        return self.alpha / (math.sqrt(self.r) if self.rslora else self.r)


def adapter_config_json(r, alpha, dropout, targets, rslora, base):
    return {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha,
            "lora_dropout": dropout, "target_modules": list(targets), "use_rslora": rslora, "bias": "none",
            "fan_in_fan_out": False, "modules_to_save": None, "layers_to_transform": None,
            "rank_pattern": {}, "alpha_pattern": {}, "init_lora_weights": True, "use_dora": False,
            "base_model_name_or_path": base}


def adapter_read(adapter_dir, c):
    """Reads ADAPTER_DIR for a model of config C; every mismatch names the file and tensor."""
    path = os.path.join(adapter_dir, "adapter_config.json")
    try:
        with open(path, "rb") as f:
            j = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise ref_error(f"{path}: no such file")
    except (ValueError, UnicodeDecodeError) as e:
        raise ref_error(f"{path}: not valid JSON ({e})")
    if not isinstance(j, dict):
        raise ref_error(f"{path}: expected a JSON object")
    if j.get("peft_type", "LORA") != "LORA":
        raise ref_error(f"{path}: peft_type: expected \"LORA\", got {json.dumps(j.get('peft_type'))}")
    a = adapter()
    a.config = j
    a.r = j.get("r")
    if not isinstance(a.r, int) or isinstance(a.r, bool) or a.r < 1:
        raise ref_error(f"{path}: r: expected a positive integer, got {json.dumps(a.r)}")
    a.alpha = j.get("lora_alpha", 8)
    if not isinstance(a.alpha, (int, float)) or isinstance(a.alpha, bool):
        raise ref_error(f"{path}: lora_alpha: expected a number, got {json.dumps(a.alpha)}")
    a.alpha = float(a.alpha)
    a.dropout = j.get("lora_dropout", 0.0)
    if not isinstance(a.dropout, (int, float)) or not 0 <= a.dropout < 1:
        raise ref_error(f"{path}: lora_dropout: expected a number in [0, 1), got {json.dumps(a.dropout)}")
    a.rslora = j.get("use_rslora", False)
    if not isinstance(a.rslora, bool):
        raise ref_error(f"{path}: use_rslora: expected true/false")
    tm = j.get("target_modules")
    if not isinstance(tm, list) or not tm or not all(isinstance(t, str) for t in tm):
        raise ref_error(f"{path}: target_modules: expected a non-empty list of names "
                        f"(regex strings are not supported), got {json.dumps(tm)}")
    for t in tm:
        if t not in TARGETS:
            raise ref_error(f"{path}: target_modules: unknown {json.dumps(t)} (supported: {', '.join(TARGETS)})")
    a.targets = [t for t in TARGETS if t in tm]
    for key, ok in (("bias", lambda v: v in (None, "none")), ("fan_in_fan_out", lambda v: not v),
                    ("use_dora", lambda v: not v), ("layers_to_transform", lambda v: v is None),
                    ("modules_to_save", lambda v: not v), ("rank_pattern", lambda v: not v),
                    ("alpha_pattern", lambda v: not v)):
        if not ok(j.get(key)):
            raise ref_error(f"{path}: {key}: unsupported {json.dumps(j.get(key))}")
    st = os.path.join(adapter_dir, "adapter_model.safetensors")
    if not os.path.exists(st):
        raise ref_error(f"{st}: no such file")
    got = ref.safetensors_read(st)
    a.params = {}
    for layer in range(c.num_hidden_layers):
        for t in a.targets:
            out_f, in_f = target_shape(c, t)
            for which, shape in (("A", (a.r, in_f)), ("B", (out_f, a.r))):
                name = peft_name(layer, t, which)
                if name not in got:
                    raise ref_error(f"{st}: tensor {name} missing (adapter_config.json targets {t}, "
                                    f"the model has {c.num_hidden_layers} layers)")
                if tuple(got[name].shape) != shape:
                    raise ref_error(f"{st}: tensor {name}: shape {list(got[name].shape)}, expected "
                                    f"{list(shape)} (r {a.r}, this model's {t} is {out_f}x{in_f})")
                a.params[name] = got.pop(name).to(torch.float32).contiguous()
    if got:
        raise ref_error(f"{st}: unexpected tensor {sorted(got)[0]} (not a lora_A/lora_B of the configured "
                        f"targets in a {c.num_hidden_layers}-layer model)")
    return a


def adapter_write(adapter_dir, a):
    try:
        os.makedirs(adapter_dir, exist_ok=True)
        with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
            f.write(json.dumps(a.config, indent=2) + "\n")
    except OSError as e:
        raise ref_error(f"{adapter_dir}: cannot write ({e.strerror})")
    safetensors_write(os.path.join(adapter_dir, "adapter_model.safetensors"), a.params, {"format": "pt"})


def adapter_init(c, r, alpha, targets, seed, dropout=0.05, rslora=False, random_b=0.0, base=""):
    """PEFT's init: A kaiming_uniform_(a=sqrt(5)) (bound 1/sqrt(in)), B zero (or normal * RANDOM_B)."""
    a = adapter()
    a.r, a.alpha, a.rslora, a.dropout = r, float(alpha), rslora, dropout
    a.targets = [t for t in TARGETS if t in targets]
    a.config = adapter_config_json(r, int(alpha) if float(alpha).is_integer() else alpha, dropout, a.targets,
                                   rslora, base)
    gen = torch.Generator().manual_seed(seed)
    a.params = {}
    for layer in range(c.num_hidden_layers):
        for t in a.targets:
            out_f, in_f = target_shape(c, t)
            bound = 1.0 / math.sqrt(in_f)  # gain sqrt(2/(1+5)) * sqrt(3/in)
            a.params[peft_name(layer, t, "A")] = (torch.rand(r, in_f, generator=gen) * 2 - 1) * bound
            b = torch.zeros(out_f, r)
            if random_b:
                b = torch.randn(out_f, r, generator=gen) * random_b
            a.params[peft_name(layer, t, "B")] = b
    return a


# ---------------------------------------------------------------------------------------------------
# The model with LoRA

class lora_model(ref.model):
    """hf_reference's model plus y += scale * B(A x) on the adapter's targets (PEFT's Linear.forward: x
    cast to the LoRA dtype, the sum cast back to the base output dtype). Dropout is never applied.
    CHECKPOINT recomputes each layer in backward (torch.utils.checkpoint), as the benchmark peer does."""

    def __init__(self, model_dir, dtype, lora, checkpoint=False, grouped=False):
        super().__init__(model_dir, dtype, grouped=grouped)
        self.set_adapter(lora)
        self.checkpoint = checkpoint

    def set_adapter(self, lora):
        self.lora = lora
        self.slots = {}
        if lora is not None:
            for layer in range(self.c.num_hidden_layers):
                for t in lora.targets:
                    self.slots[(layer, TARGETS[t])] = (lora.params[peft_name(layer, t, "A")],
                                                       lora.params[peft_name(layer, t, "B")])

    def proj(self, i, name, x):
        y = super().proj(i, name, x)
        slot = self.slots.get((i, name))
        if slot is None:
            return y
        a, b = slot
        xl = x.to(a.dtype)
        return (y + F.linear(F.linear(xl, a), b) * self.lora.scale).to(y.dtype)

    def layer_forward(self, i, x, cos, sin, mask, cache, start):
        if self.checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint
            return checkpoint(super().layer_forward, i, x, cos, sin, mask, cache, start, use_reentrant=False)
        return super().layer_forward(i, x, cos, sin, mask, cache, start)


# ---------------------------------------------------------------------------------------------------
# Batches and the loss

def batch_parse(j, where, vocab):
    """{"micro_batches": [[{"ids", "trained"}, ...], ...]} -> list of micro-batches of (ids, trained)."""
    if not isinstance(j, dict) or not isinstance(j.get("micro_batches"), list):
        raise ref_error(f"{where}: expected {{\"micro_batches\": [[{{\"ids\": [...], \"trained\": [...]}}]]}}")
    out = []
    for m, mb in enumerate(j["micro_batches"]):
        if not isinstance(mb, list):
            raise ref_error(f"{where}: micro_batches[{m}]: expected a list of samples")
        samples = []
        for s, smp in enumerate(mb):
            at = f"{where}: micro_batches[{m}][{s}]"
            if not isinstance(smp, dict):
                raise ref_error(f"{at}: expected an object with ids and trained")
            ids, trained = smp.get("ids"), smp.get("trained")
            if not isinstance(ids, list) or not ids:
                raise ref_error(f"{at}.ids: expected a non-empty list of token ids")
            if not isinstance(trained, list) or len(trained) != len(ids):
                raise ref_error(f"{at}.trained: expected a list as long as ids ({len(ids)})")
            for k, v in enumerate(ids):
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < vocab:
                    raise ref_error(f"{at}.ids[{k}]: {json.dumps(v)} is not a token id (vocab_size {vocab})")
            for k, v in enumerate(trained):
                if v not in (0, 1) or isinstance(v, float):
                    raise ref_error(f"{at}.trained[{k}]: expected 0 or 1, got {json.dumps(v)}")
            samples.append((ids, trained))
        out.append(samples)
    return out


def json_file(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise ref_error(f"{path}: cannot read ({e.strerror})")
    except (ValueError, UnicodeDecodeError) as e:
        raise ref_error(f"{path}: not valid JSON ({e})")


def trained_count(micro_batches):
    return sum(sum(t[1:]) for mb in micro_batches for _, t in mb)


def micro_batch_loss(m, samples, pack=True):
    """(sum of the trained tokens' losses as a 0-d tensor, their count). Packed: one forward over the
    concatenation, positions restarting per sample, attention only within a sample (and the sliding
    window); otherwise one forward per sample."""
    if not pack:
        total, n = None, 0
        for smp in samples:
            ls, k = micro_batch_loss(m, [smp], pack=True)
            if k:
                total, n = ls if total is None else total + ls, n + k
        return (total if total is not None else torch.zeros((), dtype=torch.float64)), n
    ids, pos, seg, rows, targets = [], [], [], [], []
    for s, (sid, tr) in enumerate(samples):
        base = len(ids)
        for i in range(1, len(sid)):
            if tr[i]:
                rows.append(base + i - 1)
                targets.append(sid[i])
        ids += sid
        pos += range(len(sid))
        seg += [s] * len(sid)
    if not rows:
        return torch.zeros((), dtype=torch.float64), 0
    pos_t, seg_t = torch.tensor(pos), torch.tensor(seg)
    mask = (seg_t[:, None] == seg_t[None, :]) & (pos_t[None, :] <= pos_t[:, None])
    if m.c.sliding_window:
        mask &= (pos_t[:, None] - pos_t[None, :]) < m.c.sliding_window
    logits = m.forward(ids, positions=pos_t, mask=mask, rows=torch.tensor(rows))
    logits = logits if logits.dtype == torch.float64 else logits.float()
    return F.cross_entropy(logits, torch.tensor(targets), reduction="sum"), len(rows)


def step_loss_backward(m, micro_batches, pack=True, backward=True, where="batch"):
    """Gradient accumulation over one step: each micro-batch's loss sum / the step's global trained
    count is back-propagated into the LoRA params' .grad. Returns (loss_sum, count) as Python numbers."""
    count = trained_count(micro_batches)
    if count == 0:
        raise ref_error(f"{where}: no trained tokens in the step (the loss would divide by zero)")
    loss_sum = 0.0
    for mb in micro_batches:
        ls, n = micro_batch_loss(m, mb, pack)
        if n == 0:
            continue
        if backward:
            (ls / count).backward()
        loss_sum += float(ls)
    return loss_sum, count


def lora_params(a):
    """The adapter's tensors as leaf tensors requiring grad, in PEFT name order."""
    for name in sorted(a.params):
        a.params[name] = a.params[name].detach().clone().requires_grad_(True)
    return [a.params[n] for n in sorted(a.params)]


# ---------------------------------------------------------------------------------------------------
# LR schedules, written from HF transformers' definitions (optimization.py). LambdaLR multiplies the
# base LR by lambda(k) where k counts scheduler.step() calls, and HF steps the scheduler after the
# optimizer, so optimizer step k (0-based) runs at base_lr * lambda(k): 0 at step 0 when warmup > 0.

def lr_lambda(schedule, k, warmup, total):
    if k < warmup:
        return float(k) / float(max(1, warmup))
    if schedule == "constant":
        return 1.0
    progress = float(k - warmup) / float(max(1, total - warmup))
    if schedule == "linear":
        return max(0.0, float(total - k) / float(max(1, total - warmup)))
    if schedule == "cosine":  # num_cycles 0.5
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
    raise ref_error(f"--schedule: unknown {schedule}")


def train(m, a, steps, lr, schedule, warmup, total, weight_decay, max_grad_norm, pack=True, where="steps"):
    """Runs STEPS (a list of micro-batch lists); returns (losses, grad_norms, lrs). A's params change."""
    params = lora_params(a)
    m.set_adapter(a)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    losses, norms, lrs = [], [], []
    for k, mbs in enumerate(steps):
        opt.zero_grad(set_to_none=True)
        loss_sum, count = step_loss_backward(m, mbs, pack, where=f"{where}: [{k}]")
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if max_grad_norm > 0:
            norm = float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
        else:
            norm = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])))
        step_lr = lr * lr_lambda(schedule, k, warmup, total)
        for g in opt.param_groups:
            g["lr"] = step_lr
        opt.step()
        losses.append(loss_sum / count)
        norms.append(norm)
        lrs.append(step_lr)
    for name in a.params:
        a.params[name] = a.params[name].detach()
    return losses, norms, lrs


# ---------------------------------------------------------------------------------------------------
# selftest-lora

def nmse(got, want):
    return ref.nmse(got, want)


def random_batch(gen, vocab, lengths):
    """A micro-batch of samples of the given LENGTHS with random ids and about 60% trained flags."""
    out = []
    for n in lengths:
        ids = torch.randint(0, vocab, (n,), generator=gen).tolist()
        tr = (torch.rand(n, generator=gen) < 0.6).long().tolist()
        tr[-1] = 1
        out.append((ids, tr))
    return out


def grads_of(m, a, micro_batches, pack=True):
    params = lora_params(a)
    m.set_adapter(a)
    loss_sum, count = step_loss_backward(m, micro_batches, pack)
    return loss_sum, count, {n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
                             for n, p in zip(sorted(a.params), params)}


def flat(grads):
    return torch.cat([grads[n].reshape(-1).double() for n in sorted(grads)]).numpy()


def selftest_lora_run(model_dir):
    failed = 0

    def report(name, ok, **facts):
        nonlocal failed
        failed += 0 if ok else 1
        print(json.dumps({"check": name, "ok": bool(ok), **facts}))

    m32 = lora_model(model_dir, torch.float32, None)
    c = m32.c
    gen = torch.Generator().manual_seed(4321)
    s1, s2, s3 = random_batch(gen, c.vocab_size, [7, 5, 6])
    batch = [[s1, s2], [s3]]
    targets = list(TARGETS)

    # B = 0: the LoRA term adds exact zeros, so the loss equals the base model's bit for bit, A's
    # gradient is exactly zero (dL/dA = s B^T ...) and B's is not.
    a0 = adapter_init(c, 4, 8, targets, seed=1)
    base_sum, _ = step_loss_backward(m32, batch, backward=False)
    l0, n0, g0 = grads_of(m32, a0, batch)
    ga = max(float(g.abs().max()) for n, g in g0.items() if ".lora_A." in n)
    gb = max(float(g.abs().max()) for n, g in g0.items() if ".lora_B." in n)
    report("b_zero_equals_base", l0 == base_sum and ga == 0.0 and gb > 0, loss_sum=l0, base_loss_sum=base_sum,
           max_abs_grad_a=ga, max_abs_grad_b=gb)

    # Unmerged LoRA equals the base model with W + scale * B @ A merged in (float64; checks the scale,
    # A/B orientation and which linear each target hits), for alpha/r and rsLoRA's alpha/sqrt(r).
    m64 = lora_model(model_dir, torch.float64, None)
    for rslora in (False, True):
        ar = adapter_init(c, 4, 8, targets, seed=2, rslora=rslora, random_b=0.05)
        ar.params = {n: p.double() for n, p in ar.params.items()}
        m64.set_adapter(ar)
        with torch.no_grad():
            lora_sum, _ = step_loss_backward(m64, batch, backward=False)
            merged = ref.model(model_dir, torch.float64)
            for layer in range(c.num_hidden_layers):
                for t in targets:
                    w = merged.w[f"model.layers.{layer}.{TARGETS[t]}.weight"]
                    w += ar.scale * ar.params[peft_name(layer, t, "B")] @ ar.params[peft_name(layer, t, "A")]
            mm = merged
            mm.__class__ = lora_model
            mm.set_adapter(None)
            mm.checkpoint = False
            merged_sum, _ = step_loss_backward(mm, batch, backward=False)
        rel = abs(lora_sum - merged_sum) / abs(merged_sum)
        want_scale = 8 / math.sqrt(4) if rslora else 8 / 4  # alpha 8, r 4
        report("merged_equals_unmerged" + ("_rslora" if rslora else ""), rel < 1e-12 and ar.scale == want_scale,
               rel_diff=rel,
               scale=ar.scale)

    # Gradients: float64 autograd against central finite differences on a few elements (the largest
    # |grad| of an A and of a B in each layer's first and last target).
    ad = adapter_init(c, 4, 8, targets, seed=3, random_b=0.05)
    ad.params = {n: p.double() for n, p in ad.params.items()}
    _, _, g64 = grads_of(m64, ad, batch)
    worst, h = 0.0, 1e-5
    picks = []
    for layer in range(c.num_hidden_layers):
        for t in (targets[0], targets[-1]):
            for which in "AB":
                picks.append(peft_name(layer, t, which))
    with torch.no_grad():
        for name in picks:
            p = ad.params[name]
            idx = int(g64[name].abs().argmax())
            old = float(p.view(-1)[idx])
            p.view(-1)[idx] = old + h
            up, cnt = step_loss_backward(m64, batch, backward=False)
            p.view(-1)[idx] = old - h
            down, _ = step_loss_backward(m64, batch, backward=False)
            p.view(-1)[idx] = old
            fd = (up - down) / (2 * h) / cnt
            an = float(g64[name].view(-1)[idx])
            worst = max(worst, abs(fd - an) / max(abs(an), 1e-12))
    # float64 central differences with h = 1e-5: truncation ~h^2 * f''' ~1e-10, rounding ~1e-16/h.
    report("grad_vs_finite_differences_f64", worst < 1e-6, max_rel_err=worst, elements=len(picks), h=h)

    # The float32 path (what smelt is compared against) agrees with float64 on every gradient.
    af = adapter_init(c, 4, 8, targets, seed=3, random_b=0.05)
    l32, _, g32 = grads_of(m32, af, batch)
    e = nmse(flat(g32), flat(g64))
    report("grad_f32_vs_f64", e < 1e-9, nmse=e)

    # Packing: one micro-batch [s1, s2] (block-diagonal mask, positions restarting) equals s1 and s2 as
    # separate micro-batches and each sample run alone; the step loss is the global sum / global count.
    lp, cp, gp = grads_of(m32, af, [[s1, s2, s3]])
    ls, cs, gs = grads_of(m32, af, [[s1], [s2], [s3]])
    lu, cu, gu = grads_of(m32, af, [[s1, s2, s3]], pack=False)
    e_pack = max(nmse(flat(gp), flat(gs)), nmse(flat(gu), flat(gs)))
    rel = max(abs(lp - ls), abs(lu - ls)) / abs(ls)
    report("packing_equals_separate", cp == cs == cu and rel < 1e-6 and e_pack < 1e-10, loss_rel_diff=rel,
           grad_nmse=e_pack)
    # Cross-sample leak: changing s1's tokens leaves s2's packed loss unchanged.
    s1x = ([(i + 1) % c.vocab_size for i in s1[0]], s1[1])
    with torch.no_grad():
        only2 = micro_batch_loss(m32, [(s1[0], [0] * len(s1[0])), s2])[0]
        only2x = micro_batch_loss(m32, [(s1x[0], [0] * len(s1x[0])), s2])[0]
    report("packing_no_cross_attention", abs(float(only2) - float(only2x)) <= 1e-6 * abs(float(only2)),
           loss=float(only2), loss_changed_neighbour=float(only2x))
    sums = [step_loss_backward(m32, [[s]], backward=False) for s in (s1, s2, s3)]
    want = sum(x for x, _ in sums) / sum(n for _, n in sums)
    mean_of_means = sum(x / n for x, n in sums) / 3
    # Same sums in the same order, so equal to the last bit; near-uniform random-weight logits make the
    # mean of means close, hence the tight bounds.
    report("global_normalisation", abs(ls / cs - want) <= 1e-13 * want and abs(mean_of_means - want) > 1e-11 * want,
           step_loss=ls / cs, want=want, mean_of_means=mean_of_means)

    # AdamW + clipping + schedule against a hand-written float64 version of torch's AdamW, 4 steps.
    at = adapter_init(c, 4, 8, targets, seed=5, random_b=0.05)
    start = {n: p.double().clone() for n, p in at.params.items()}
    steps = [batch, [[s3, s1]], [[s2]], batch]
    lr, wd, clip = 1e-2, 0.1, 0.05
    losses, norms, lrs = train(m32, at, steps, lr, "cosine", 1, 4, wd, clip)
    p = {n: t.clone() for n, t in start.items()}
    mom = {n: torch.zeros_like(t) for n, t in p.items()}
    vel = {n: torch.zeros_like(t) for n, t in p.items()}
    hand_norms = []
    for k, mbs in enumerate(steps):
        a_k = adapter_init(c, 4, 8, targets, seed=5)
        a_k.params = {n: t.float() for n, t in p.items()}
        _, _, g = grads_of(m32, a_k, mbs)
        g = {n: t.double() for n, t in g.items()}
        norm = math.sqrt(sum(float((t * t).sum()) for t in g.values()))
        hand_norms.append(norm)
        coef = clip / (norm + 1e-6)
        if coef < 1:
            g = {n: t * coef for n, t in g.items()}
        cos_lr = lr * (k / 1 if k < 1 else 0.5 * (1 + math.cos(math.pi * (k - 1) / 3)))
        for n in p:
            p[n] *= 1 - cos_lr * wd
            mom[n] = 0.9 * mom[n] + 0.1 * g[n]
            vel[n] = 0.999 * vel[n] + 0.001 * g[n] * g[n]
            mhat, vhat = mom[n] / (1 - 0.9 ** (k + 1)), vel[n] / (1 - 0.999 ** (k + 1))
            p[n] -= cos_lr * mhat / (vhat.sqrt() + 1e-8)
    want_lrs = [0.0, lr, lr * 0.75, lr * 0.25]
    e_p = nmse(flat(at.params), flat(p))
    e_n = max(abs(x - y) / y for x, y in zip(norms, hand_norms))
    e_lr = max(abs(x - y) for x, y in zip(lrs, want_lrs))
    report("adamw_clip_cosine_by_hand", e_p < 1e-10 and e_n < 1e-5 and e_lr < 1e-15, params_nmse=e_p,
           norm_rel_err=e_n, lrs=lrs, want_lrs=want_lrs, losses=losses)
    # Warmup 2, total 10, at steps 0, 1, 2, 6, 8, 10 (cosine at progress 3/4: (1 - sqrt(1/2)) / 2).
    sched = {s: [lr_lambda(s, k, 2, 10) for k in (0, 1, 2, 6, 8, 10)] for s in ("constant", "linear", "cosine")}
    want = {"constant": [0, 0.5, 1, 1, 1, 1], "linear": [0, 0.5, 1, 0.5, 0.25, 0],
            "cosine": [0, 0.5, 1, 0.5, (1 - math.sqrt(0.5)) / 2, 0]}
    ok = all(abs(x - y) < 1e-12 for s in sched for x, y in zip(sched[s], want[s]))
    report("schedules_by_hand", ok, got=sched, want=want)

    # Adapter files: written by this module, read back bit for bit by hf_reference's independent reader;
    # data 8-byte aligned; wrong shapes and unknown tensors are refused.
    with tempfile.TemporaryDirectory() as d:
        adapter_write(d, at)
        back = adapter_read(d, c)
        same = all(torch.equal(back.params[n], at.params[n]) for n in at.params) and back.scale == at.scale
        with open(os.path.join(d, "adapter_model.safetensors"), "rb") as f:
            aligned = struct.unpack("<Q", f.read(8))[0] % 8 == 0
        bad = dict(at.params)
        bad[peft_name(0, "q_proj", "A")] = torch.zeros(at.r + 1, c.hidden_size)
        safetensors_write(os.path.join(d, "adapter_model.safetensors"), bad)
        try:
            adapter_read(d, c)
            refused = False
        except ref_error:
            refused = True
    report("adapter_roundtrip", same and aligned and refused, bit_equal=same, aligned=aligned,
           wrong_shape_refused=refused)

    # bf16 (weights/activations bf16, LoRA fp32 as PEFT with a bf16 base) stays near f32.
    m16 = lora_model(model_dir, torch.bfloat16, None)
    l16, _, g16 = grads_of(m16, af, batch)
    rel = abs(l16 - l32) / abs(l32)
    e = nmse(flat(g16), flat(g32))
    report("bf16_vs_f32", rel < 1e-2 and e < 3e-2, loss_rel_diff=rel, grad_nmse=e)
    return failed


# ---------------------------------------------------------------------------------------------------
# Command line

DTYPES = {**ref.DTYPES, "f64": torch.float64}


def load(args, lora_dir):
    m = lora_model(args.model_dir, DTYPES[args.dtype], None)
    a = adapter_read(lora_dir, m.c) if lora_dir else None
    if a is not None and args.dtype == "f64":  # LoRA params follow the model only in float64
        a.params = {n: p.double() for n, p in a.params.items()}
    m.set_adapter(a)
    return m, a


def cmd_grads(args):
    m, a = load(args, args.adapter)
    batch = batch_parse(json_file(args.batch), args.batch, m.c.vocab_size)
    params = lora_params(a)
    m.set_adapter(a)
    loss_sum, count = step_loss_backward(m, batch, not args.no_pack, where=args.batch)
    grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in zip(sorted(a.params), params)}
    safetensors_write(args.out, grads, {"format": "pt", "loss_sum": repr(loss_sum), "count": str(count)})
    print(json.dumps({"loss_sum": loss_sum, "count": count, "loss": loss_sum / count}))


def cmd_eval(args):
    m, _ = load(args, args.adapter)
    batch = batch_parse(json_file(args.batch), args.batch, m.c.vocab_size)
    with torch.no_grad():
        loss_sum, count = step_loss_backward(m, batch, not args.no_pack, backward=False, where=args.batch)
    print(json.dumps({"loss_sum": loss_sum, "count": count, "loss": loss_sum / count}))


def cmd_train(args):
    m, a = load(args, args.adapter)
    j = json_file(args.steps)
    if not isinstance(j, list) or not j:
        raise ref_error(f"{args.steps}: expected a non-empty JSON list of batch objects, one per step")
    steps = [batch_parse(b, f"{args.steps}: [{k}]", m.c.vocab_size) for k, b in enumerate(j)]
    total = args.total_steps if args.total_steps is not None else len(steps)
    losses, norms, lrs = train(m, a, steps, args.lr, args.schedule, args.warmup, total, args.weight_decay,
                               args.max_grad_norm, not args.no_pack, args.steps)
    adapter_write(args.out, a)
    print(json.dumps({"losses": losses, "grad_norms": norms, "lrs": lrs}))


def cmd_init(args):
    c = ref.config_read(args.model_dir)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in targets:
        if t not in TARGETS:
            raise ref_error(f"--targets: unknown {json.dumps(t)} (supported: {', '.join(TARGETS)})")
    if args.rank < 1 or not targets:
        raise ref_error("--rank must be positive and --targets non-empty")
    a = adapter_init(c, args.rank, args.alpha, targets, args.seed, args.dropout, args.rslora, args.random_b,
                     os.path.abspath(args.model_dir))
    adapter_write(args.out, a)
    print(json.dumps({"out": args.out, "tensors": len(a.params), "scale": a.scale}))


def cmd_selftest(args):
    failed = selftest_lora_run(args.model_dir)
    if failed:
        raise ref_error(f"selftest-lora: {failed} check(s) failed")


def main(argv):
    prog = "hf_reference.py"
    ap = argparse.ArgumentParser(prog=prog, description="LoRA training reference (PEFT semantics).")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, adapter=True):
        p.add_argument("model_dir")
        if adapter:
            p.add_argument("--adapter", required=True, help="PEFT adapter dir")
        p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
        p.add_argument("--no-pack", action="store_true", help="run each sample alone instead of packed")

    p = sub.add_parser("lora-grads", help="step loss and its gradient for every lora_A/lora_B (no dropout)")
    common(p)
    p.add_argument("--batch", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_grads)
    p = sub.add_parser("lora-eval", help="step loss (sum / count of trained tokens), no gradient")
    common(p)
    p.add_argument("--batch", required=True)
    p.set_defaults(fn=cmd_eval)
    p = sub.add_parser("lora-train", help="AdamW steps with clipping and an HF LR schedule")
    common(p)
    p.add_argument("--steps", required=True, help="JSON list of batch objects, one per optimizer step")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--schedule", choices=("cosine", "linear", "constant"), default="cosine")
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--total-steps", type=int, default=None, help="schedule length (default: the steps given)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="0: no clipping")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("lora-init", help="write a fresh PEFT adapter for a model dir")
    p.add_argument("model_dir")
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--targets", required=True, help="comma-separated, e.g. q_proj,v_proj")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.05, help="recorded in the config only")
    p.add_argument("--rslora", action="store_true")
    p.add_argument("--random-b", type=float, default=0.0, help="B = normal * X instead of zero")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_init)
    p = sub.add_parser("selftest-lora", help="check the LoRA reference against itself and by hand")
    p.add_argument("model_dir")
    p.set_defaults(fn=cmd_selftest)
    args = ap.parse_args(argv)
    if getattr(args, "warmup", 0) < 0 or (getattr(args, "total_steps", None) or 1) < 1:
        ap.error("--warmup must be >= 0 and --total-steps positive")
    try:
        args.fn(args)
    except ref_error as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
