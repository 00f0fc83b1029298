#!/usr/bin/python3
# PyTorch peer for smelt's engine benchmark: prefill and greedy-decode tokens/s and peak memory of a bf16
# model dir, run with the plain-torch reference model (tests/ref/hf_reference.py) on its fast path
# (bf16 F.linear through oneDNN, grouped-query attention without copying K/V, preallocated KV cache,
# logits of the last position only). Judges nothing: it prints one JSON line for the benchmark to set
# beside smelt's numbers. Run with /usr/bin/python3 (Debian's python3-torch).

import argparse
import json
import os
import resource
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import hf_reference as ref  # noqa: E402


def run_once(m, prompt, decode_tokens):
    """One prefill over PROMPT and DECODE_TOKENS greedy steps; returns (prefill_s, decode_s, new ids)."""
    cache = ref.kv_cache(m.c, len(prompt) + decode_tokens, m.dtype)
    t0 = time.perf_counter()
    logits = m.forward(prompt, cache, last_only=True)
    nxt = int(torch.argmax(logits[-1]))
    t1 = time.perf_counter()
    out = [nxt]
    for _ in range(decode_tokens):
        logits = m.forward([nxt], cache, last_only=True)
        nxt = int(torch.argmax(logits[-1]))
        out.append(nxt)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out


def main(argv):
    ap = argparse.ArgumentParser(prog="engine_torch_peer.py",
                                 description="PyTorch (bf16) prefill/decode throughput of a model dir.")
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="torch.set_num_threads (default: all CPUs)")
    ap.add_argument("--prompt-tokens", type=int, default=128,
                    help="P: prompt length for prefill (default 128)")
    ap.add_argument("--decode-tokens", type=int, default=32, help="D: greedy decode steps (default 32)")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions after the warmup; best is kept")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random prompt ids (default 0)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.prompt_tokens < 1 or args.decode_tokens < 1 or args.reps < 1:
        ap.error("--threads, --prompt-tokens, --decode-tokens and --reps must be positive")
    torch.set_num_threads(args.threads)
    try:
        t = time.perf_counter()
        m = ref.model(args.model_dir, torch.bfloat16, grouped=True)
        load_s = time.perf_counter() - t
    except ref.ref_error as e:
        print(f"engine_torch_peer.py: error: {e}", file=sys.stderr)
        return 1
    gen = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, m.c.vocab_size, (args.prompt_tokens,), generator=gen).tolist()
    with torch.inference_mode():
        run_once(m, prompt, min(args.decode_tokens, 4))  # warmup: oneDNN primitives, allocator
        prefill_s, decode_s = float("inf"), float("inf")
        for _ in range(args.reps):
            p, d, ids = run_once(m, prompt, args.decode_tokens)
            prefill_s, decode_s = min(prefill_s, p), min(decode_s, d)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "model": os.path.basename(os.path.normpath(args.model_dir)),
        "prompt_tokens": args.prompt_tokens,
        "decode_tokens": args.decode_tokens,
        "prefill_tokens_per_s": round(args.prompt_tokens / prefill_s, 2),
        "decode_tokens_per_s": round(args.decode_tokens / decode_s, 2),
        "peak_rss_mib": round(rss_mib, 1),
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "load_s": round(load_s, 2),
        "reps": args.reps,
        "decoded_ids_head": ids[:4],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
