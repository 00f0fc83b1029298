#!/usr/bin/python3
# PyTorch peer for smelt's training benchmark: the time of one LoRA training step (forward, backward,
# AdamW) on a model dir, bf16 autocast (frozen bf16 weights, fp32 LoRA params and AdamW state) or, with
# --precision fp32, everything in fp32 (the frozen weights widened once at load: what a PyTorch user
# picks on a CPU without bf16 instructions), activation checkpointing per layer, cross-entropy in
# checkpointed chunks. Uses the plain-torch reference model
# (tests/ref/hf_reference.py + lora_reference.py). Judges nothing: it prints one JSON line for the
# benchmark to set beside smelt's numbers. Run with /usr/bin/python3 (Debian's python3-torch).

import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import hf_reference as ref  # noqa: E402
import lora_reference as lref  # noqa: E402

CE_CHUNK = 512  # rows of logits alive at once (x vocab x 4 bytes)


def flop_count(c, seq, lora):
    """Model FLOPs per trained token of one training step (recompute not counted):
    4 * N_frozen (forward 2N, backward input gradients 2N; frozen weights get no weight gradient)
    + 6 * N_lora (forward, input and weight gradients)
    + 6 * L * H * head_dim * T (causal attention: QK^T and PV over T/2 keys on average are
      2 * H * head_dim * T forward per token and layer; backward twice that).
    N_frozen counts the weights of every matmul: q, k, v, o, gate, up, down in each layer and the LM head
    (embedding lookups are not matmuls). N_lora = sum over LoRA targets of r * (in + out)."""
    hd = c.head_dim
    per_layer = sum(o * i for o, i in (lref.target_shape(c, t) for t in lref.TARGETS))
    n_frozen = c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size
    n_lora = c.num_hidden_layers * sum(lora.r * sum(lref.target_shape(c, t)) for t in lora.targets)
    attn = 6 * c.num_hidden_layers * c.num_attention_heads * hd * seq
    return 4 * n_frozen + 6 * n_lora + attn, n_frozen, n_lora


def head_loss(m, x, targets):
    # Final norm, LM head and summed cross-entropy of one chunk of rows (checkpointed by the caller).
    c, w = m.c, m.w
    x = ref.rms_norm(x, w["model.norm.weight"], c.rms_norm_eps)
    head = w["model.embed_tokens.weight"] if c.tie_word_embeddings else w["lm_head.weight"]
    return F.cross_entropy(F.linear(x, head).float(), targets, reduction="sum")


def sample_loss(m, ids):
    """Summed loss of one sequence, every position after the first trained (the benchmark's setting)."""
    c = m.c
    t = ids.shape[0]
    positions = torch.arange(t)
    cos, sin = ref.rope_cos_sin(m.inv_freq, positions, m.dtype)
    mask = ref.attention_mask(positions, t, c.sliding_window)
    x = F.embedding(ids, m.w["model.embed_tokens.weight"])
    for i in range(c.num_hidden_layers):
        x = m.layer_forward(i, x, cos, sin, mask, None, 0)  # checkpointed: lora_model(checkpoint=True)
    total = None
    for s in range(0, t - 1, CE_CHUNK):
        e = min(s + CE_CHUNK, t - 1)
        part = checkpoint(head_loss, m, x[s:e], ids[s + 1:e + 1], use_reentrant=False)
        total = part if total is None else total + part
    return total


def train_step(m, params, opt, batch, autocast):
    """One optimizer step over BATCH (sequences accumulated one at a time): loss / count, clip, AdamW."""
    opt.zero_grad(set_to_none=True)
    count = sum(int(ids.shape[0]) - 1 for ids in batch)
    loss = 0.0
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for ids in batch:
            ls = sample_loss(m, ids)
            (ls / count).backward()
            loss += float(ls)
    norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
    opt.step()
    return loss / count, norm


def main(argv):
    ap = argparse.ArgumentParser(prog="train_torch_peer.py",
                                 description="PyTorch LoRA training-step throughput of a model dir.")
    ap.add_argument("--precision", choices=["bf16-autocast", "fp32"], default="bf16-autocast",
                    help="bf16 weights under bf16 autocast, or fp32 weights and compute (default bf16-autocast)")
    ap.add_argument("model_dir")
    ap.add_argument("--seq", type=int, default=512, help="tokens per sequence (default 512)")
    ap.add_argument("--batch-size", type=int, default=1, help="sequences per step, accumulated (default 1)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps after one untimed warmup (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--targets", default=",".join(lref.TARGETS), help="default: all 7")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the machine's peak bf16 TFLOP/s for MFU (omitted when not given)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if min(args.seq, args.batch_size, args.steps, args.threads, args.rank) < 1 or args.seq < 2:
        ap.error("--seq (>= 2), --batch-size, --steps, --threads and --rank must be positive")
    torch.set_num_threads(args.threads)
    targets = [t for t in args.targets.split(",") if t]
    try:
        if any(t not in lref.TARGETS for t in targets):
            raise ref.ref_error(f"--targets: expected names among {', '.join(lref.TARGETS)}")
        t0 = time.perf_counter()
        dtype = torch.bfloat16 if args.precision == "bf16-autocast" else torch.float32
        m = lref.lora_model(args.model_dir, dtype, None, checkpoint=True, grouped=True)
        load_s = time.perf_counter() - t0
    except ref.ref_error as e:
        print(f"train_torch_peer.py: error: {e}", file=sys.stderr)
        return 1
    c = m.c
    lora = lref.adapter_init(c, args.rank, args.alpha, targets, args.seed, random_b=0.0)
    params = lref.lora_params(lora)
    m.set_adapter(lora)
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    gen = torch.Generator().manual_seed(args.seed)

    def batch():
        return [torch.randint(0, c.vocab_size, (args.seq,), generator=gen) for _ in range(args.batch_size)]

    autocast = args.precision == "bf16-autocast"
    train_step(m, params, opt, batch(), autocast)  # warmup: oneDNN primitives, allocator, AdamW state
    times, losses = [], []
    for _ in range(args.steps):
        b = batch()
        t = time.perf_counter()
        loss, _ = train_step(m, params, opt, b, autocast)
        times.append(time.perf_counter() - t)
        losses.append(loss)
    step_s = sum(times) / len(times)
    tokens = args.seq * args.batch_size
    flops, n_frozen, n_lora = flop_count(c, args.seq, lora)
    out = {
        "impl": "pytorch",
        "precision": args.precision,
        "torch": torch.__version__,
        "model": os.path.basename(os.path.normpath(args.model_dir)),
        "seq": args.seq,
        "batch_size": args.batch_size,
        "rank": args.rank,
        "targets": lora.targets,
        "tokens_per_s": round(tokens / step_s, 2),
        "step_seconds": round(step_s, 3),
        "step_seconds_all": [round(x, 3) for x in times],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "flops_per_token": flops,
        "flops_formula": "4*N_frozen + 6*N_lora + 6*L*H*head_dim*T (model FLOPs, recompute not counted)",
        "n_frozen_matmul_params": n_frozen,
        "n_lora_params": n_lora,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "load_s": round(load_s, 2),
        "losses": [round(x, 4) for x in losses],
    }
    if args.peak_tflops:
        out["mfu"] = round(tokens / step_s * flops / (args.peak_tflops * 1e12), 4)
        out["peak_tflops"] = args.peak_tflops
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
