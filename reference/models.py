"""PyTorch reference of every titans.cpp architecture (docs/MODELS.md, the contract; spec
../shared/spec/architectures.md and ../shared/spec/neural-memory.md).

Test oracle and performance peer for the C++ engine -- never a runtime dependency of it. Written from
the spec and docs/MODELS.md, not from the C++ code.

    model = load_model("model.safetensors")                 # or load_model((config_dict, tensors))
    logits = model(ids)                                     # ids int [B, T] -> [B, T, vocab]

Architectures: transformer, swa, titans_lmm, titans_mac, titans_mag, titans_mal, infini (linear and
delta rule). Full-sequence form (one call = the whole sequence from position 0; no streaming state):
attention is an explicit masked softmax batched over batch and heads (sliding windows block-wise, so
memory is O(T * window)); the neural memory is reference/neural_memory.py (``chunked_memory``, or the
token-by-token oracle ``sequential_memory`` with ``memory_impl="sequential"``); Infini-attention
runs segment by segment with back-propagation through M, z. Every parameter is an ``nn.Parameter``
whose ``named_parameters()`` name is its tensor name (``layers.0.attn.w_q``,
``layers.1.memory.mem_w0.2``, ...), so autograd gives every gradient under the file's names.

Tensor names and shapes: ``param_shapes(cfg)``; initialisation (MODELS.md item 11): ``init_params``.
"""
from __future__ import annotations

import json
import math
import os
import struct
import sys
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import neural_memory as nm  # noqa: E402

Tensor = torch.Tensor

__all__ = ["ModelConfig", "Model", "load_model", "param_shapes", "init_params", "read_safetensors",
           "write_safetensors", "ARCHS"]

ARCHS = ("transformer", "swa", "titans_lmm", "titans_mac", "titans_mag", "titans_mal", "infini")
TITANS = ("titans_lmm", "titans_mac", "titans_mag", "titans_mal")


# ---------------------------------------------------------------------------------------------------
# safetensors (minimal private reader/writer: 8-byte little-endian header length, JSON header, buffer)
# ---------------------------------------------------------------------------------------------------

_ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
              "U8": torch.uint8}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


try:  # the io engineer's reader/writer (docs/FORMAT.md rules), when this checkout has it
    import safetensors_io as _stio  # noqa: E402
except ImportError:  # pragma: no cover - depends on the checkout
    _stio = None


def read_safetensors(path: str) -> Tuple[Dict[str, Tensor], Dict[str, str]]:
    """-> (tensors by name, metadata dict of strings). reference/safetensors_io.py's ``load_torch`` when
    it is there (full validation), else the minimal private reader below."""
    if _stio is not None:
        return _stio.load_torch(path)
    return _read_private(path)


def write_safetensors(path: str, tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None):
    """reference/safetensors_io.py's ``save_torch`` when it is there, else the private writer."""
    if _stio is not None:
        return _stio.save_torch(path, tensors, metadata)
    return _write_private(path, tensors, metadata)


def _read_private(path: str) -> Tuple[Dict[str, Tensor], Dict[str, str]]:
    """-> (tensors by name, metadata dict of strings). Copies the data (the file is not kept open)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buf = raw[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    out = {}
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in _ST_DTYPES:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(buf):
            raise ValueError(f"{path}: tensor {name}: data offsets {begin}, {end} outside the buffer")
        shape = list(info["shape"])
        dtype = _ST_DTYPES[dt]
        nbytes = torch.tensor([], dtype=dtype).element_size() * math.prod(shape)
        if end - begin != nbytes:
            raise ValueError(f"{path}: tensor {name}: {end - begin} bytes for shape {shape} {dt}")
        chunk = bytearray(buf[begin:end])
        if nbytes == 0:
            t = torch.zeros(shape, dtype=dtype)
        else:
            t = torch.frombuffer(chunk, dtype=dtype).reshape(shape).clone()
        if sys.byteorder != "little":  # pragma: no cover
            raise RuntimeError("big-endian hosts are not supported")
        out[name] = t
    return out, {str(k): v for k, v in meta.items()}


def _write_private(path: str, tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None):
    """Tensors in name order, 8-byte aligned header (padded with spaces)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _ST_NAMES:
            raise ValueError(f"tensor {name}: unsupported dtype {t.dtype}")
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------------
# Configuration (JSON keys = src/models/model_config.h field names)
# ---------------------------------------------------------------------------------------------------

# NeuralMemoryConfig keys (src/memory/memory_config.h) that do not change the function computed.
_MEMORY_IGNORED = {"fused_inference", "d_model", "n_heads", "head_dim"}
_MEMORY_KEYS = {"depth", "expansion", "activation", "residual", "conv_kernel", "chunk", "theta_max",
                "momentum", "decay", "theta_init", "eta_init", "alpha_init", "l2_eps", "rms_eps"}


@dataclass
class ModelConfig:
    arch: str
    vocab_size: int = 256
    d_model: int = 0
    n_layers: int = 1
    n_heads: int = 1
    head_dim: int = 0            # 0 -> d_model / n_heads
    ffn_hidden: int = 0          # 0 -> round_up(floor(8 d / 3), 32)
    tie_embeddings: bool = False
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    window: int = 64
    segment: int = 64
    n_persistent: int = 4
    gate: str = "sigmoid"        # "sigmoid" | "sum"
    memory: dict = field(default_factory=dict)   # NeuralMemoryConfig fields
    infini_update: str = "linear"                # JSON "infini": {"update", "bptt_segments"}
    infini_bptt_segments: int = 0
    beta_lr_mult: float = 1.0    # training only
    embed_std: float = 0.02      # initialisation only

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        infini = d.pop("infini", None) or {}
        for k in infini:
            if k not in ("update", "bptt_segments"):
                raise ValueError(f"config: unknown key infini.{k}")
        if "update" in infini:
            d["infini_update"] = infini["update"]
        if "bptt_segments" in infini:
            d["infini_bptt_segments"] = infini["bptt_segments"]
        names = {f.name for f in fields(cls)}
        for k in d:
            if k not in names:
                raise ValueError(f"config: unknown key {k}")
        mem = dict(d.get("memory") or {})
        for k in mem:
            if k not in _MEMORY_KEYS and k not in _MEMORY_IGNORED:
                raise ValueError(f"config: unknown key memory.{k}")
        d["memory"] = mem
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["infini"] = {"update": d.pop("infini_update"), "bptt_segments": d.pop("infini_bptt_segments")}
        return d

    def validate(self):
        if self.arch not in ARCHS:
            raise ValueError(f"config: unknown arch {self.arch!r}")
        if self.d_model <= 0 or self.n_heads <= 0 or self.n_layers < 0 or self.vocab_size <= 0:
            raise ValueError("config: d_model, n_heads, vocab_size must be > 0")
        if self.head_dim <= 0 and self.d_model % self.n_heads:
            raise ValueError("config: head_dim not given and d_model not divisible by n_heads")
        if self.dh % 2:
            raise ValueError("config: head_dim must be even (RoPE)")
        if self.gate not in ("sigmoid", "sum"):
            raise ValueError(f"config: gate must be sigmoid or sum, not {self.gate!r}")
        if self.infini_update not in ("linear", "delta"):
            raise ValueError(f"config: infini.update must be linear or delta, not {self.infini_update!r}")
        if self.window < 1 or self.segment < 1 or self.n_persistent < 0 or self.infini_bptt_segments < 0:
            raise ValueError("config: window, segment >= 1; n_persistent, bptt_segments >= 0")

    @property
    def dh(self) -> int:
        return self.head_dim if self.head_dim > 0 else self.d_model // self.n_heads

    @property
    def inner_dim(self) -> int:
        return self.n_heads * self.dh

    @property
    def ffn_dim(self) -> int:
        return self.ffn_hidden if self.ffn_hidden > 0 else (8 * self.d_model // 3 + 31) // 32 * 32

    @property
    def n_p(self) -> int:
        return self.n_persistent if self.arch in TITANS else 0

    def memory_config(self, check_finite: bool = True) -> nm.MemoryConfig:
        kw = {k: v for k, v in self.memory.items() if k in _MEMORY_KEYS}
        return nm.MemoryConfig(d_model=self.d_model, n_heads=self.n_heads, head_dim=self.dh,
                               check_finite=check_finite, **kw)


# ---------------------------------------------------------------------------------------------------
# Parameter table and initialisation
# ---------------------------------------------------------------------------------------------------

def _memory_shapes(mc: nm.MemoryConfig) -> "OrderedDict[str, tuple]":
    D, H, HD, K = mc.d_model, mc.n_heads, mc.inner_dim, mc.conv_kernel
    s = OrderedDict()
    for n in "qkv":
        s[f"w_{n}"] = (HD, D)
    for n in "qkv":
        s[f"conv_{n}"] = (HD, K)
    for g in ("theta", "eta", "alpha"):
        s[f"w_{g}"] = (H, D)
        s[f"b_{g}"] = (H,)
    for l, (o, i) in enumerate(mc.layer_shapes(), start=1):
        s[f"mem_w0.{l}"] = (H, o, i)
    s["w_gate"] = (HD, D)
    s["norm_out"] = (HD,)
    s["w_out"] = (D, HD)
    return s


def param_shapes(cfg: ModelConfig) -> "OrderedDict[str, tuple]":
    """Every tensor of the model, name -> shape (docs/FORMAT.md names)."""
    V, d, F_, HD, H = cfg.vocab_size, cfg.d_model, cfg.ffn_dim, cfg.inner_dim, cfg.n_heads
    s = OrderedDict()
    s["embed"] = (V, d)
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        s[p + "norm_mix"] = (d,)
        if cfg.arch == "titans_mal":
            s[p + "norm_mem"] = (d,)
        s[p + "norm_ffn"] = (d,)
        if cfg.arch != "titans_lmm":
            s[p + "attn.w_q"] = (HD, d)
            s[p + "attn.w_k"] = (HD, d)
            s[p + "attn.w_v"] = (HD, d)
            s[p + "attn.w_o"] = (d, HD)
        if cfg.arch == "infini":
            s[p + "attn.beta"] = (H,)
        if cfg.arch in TITANS:
            if cfg.n_p > 0:
                s[p + "persistent"] = (cfg.n_p, d)
            for k, v in _memory_shapes(cfg.memory_config()).items():
                s[p + "memory." + k] = v
        if cfg.arch in ("titans_mac", "titans_mag"):
            s[p + "gate.norm_y"] = (d,)
            s[p + "gate.norm_m"] = (d,)
            s[p + "gate.w_o"] = (d, d)
        s[p + "ffn.w1"] = (F_, d)
        s[p + "ffn.w3"] = (F_, d)
        s[p + "ffn.w2"] = (d, F_)
    s["norm_f"] = (d,)
    if not cfg.tie_embeddings:
        s["lm_head"] = (V, d)
    return s


def init_params(cfg: ModelConfig, seed: int = 0, dtype=torch.float32) -> Dict[str, Tensor]:
    """MODELS.md item 11: Linear weights U(+-1/sqrt(in)); embedding and untied head N(0, embed_std);
    norms 1; persistent N(0, 1); the memory as neural_memory.init_params; beta 0."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for i in range(cfg.n_layers):
        for k, v in nm.init_params(cfg.memory_config(), g, dtype).items() if cfg.arch in TITANS else ():
            out[f"layers.{i}.memory.{k}"] = v
    for name, shape in param_shapes(cfg).items():
        if name in out:
            continue
        last = name.rsplit(".", 1)[-1]
        if name in ("embed", "lm_head"):
            t = torch.randn(shape, generator=g, dtype=dtype) * cfg.embed_std
        elif last.startswith("norm"):
            t = torch.ones(shape, dtype=dtype)
        elif last == "persistent":
            t = torch.randn(shape, generator=g, dtype=dtype)
        elif last == "beta":
            t = torch.zeros(shape, dtype=dtype)
        else:  # Linear [out, in]
            t = (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) / math.sqrt(shape[1])
        out[name] = t
    return out


# ---------------------------------------------------------------------------------------------------
# Building blocks (MODELS.md "Notation" and items 1-3)
# ---------------------------------------------------------------------------------------------------

def rms_norm(x: Tensor, w: Tensor, eps: float) -> Tensor:
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def linear(x: Tensor, w: Tensor) -> Tensor:
    return x @ w.t()


def rope(x: Tensor, pos: Tensor, theta: float) -> Tensor:
    """x [..., T, d_h] (T = pos.numel()), rotate-half pairs (i, i + d_h/2), angle pos * theta^(-2i/d_h);
    angles in float64, then cast."""
    dh = x.shape[-1]
    half = dh // 2
    freq = theta ** (-torch.arange(half, dtype=torch.float64) * 2.0 / dh)
    ang = pos.to(torch.float64)[:, None] * freq[None, :]
    c, s = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, b * c + a * s], dim=-1)


def _softmax_attend(scores: Tensor, allowed: Tensor, v: Tensor) -> Tensor:
    """softmax over the last axis of scores where allowed (broadcast), @ v. Rows with no allowed key
    output 0."""
    s = scores.masked_fill(~allowed, float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0) if not bool(allowed.any(-1).all()) else p
    return p @ v


def local_attention(q: Tensor, k: Tensor, v: Tensor, window: int, pk: Optional[Tensor] = None,
                    pv: Optional[Tensor] = None, block: Optional[bool] = None) -> Tensor:
    """Causal (window 0) or sliding-window softmax attention, q, k, v [B, H, T, d_h] (RoPE applied;
    query and key t at the same position), optional always-visible prefix pk, pv [B or 1, H, N_p, d_h].
    Query p sees key r iff r <= p and (window == 0 or p - r < window), and every prefix key.
    Sliding windows over long T run block-wise (blocks of `window` queries against the previous and the
    current block of keys): memory O(T * window) instead of O(T^2)."""
    B, H, T, dh = q.shape
    scale = 1.0 / math.sqrt(dh)
    dev = q.device
    if block is None:
        block = window > 0 and T > 2 * window
    if not block:
        i = torch.arange(T, device=dev)[:, None]
        j = torch.arange(T, device=dev)[None, :]
        allowed = j <= i
        if window > 0:
            allowed = allowed & (i - j < window)
        scores = (q @ k.transpose(-1, -2)) * scale
        vv = v
        if pk is not None and pk.shape[-2] > 0:
            scores = torch.cat([(q @ pk.transpose(-1, -2)) * scale, scores], dim=-1)
            allowed = torch.cat([torch.ones(T, pk.shape[-2], dtype=torch.bool, device=dev), allowed], -1)
            vv = torch.cat([pv.expand(B, -1, -1, -1), v], dim=-2)
        return _softmax_attend(scores, allowed, vv)
    W = window
    nb = -(-T // W)
    pad = nb * W - T
    if pad:
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    qb = q.reshape(B, H, nb, W, dh)
    kb = k.reshape(B, H, nb, W, dh)
    vb = v.reshape(B, H, nb, W, dh)
    kk = torch.cat([F.pad(kb, (0, 0, 0, 0, 1, 0))[:, :, :nb], kb], dim=3)      # [B, H, nb, 2W, dh]
    vk = torch.cat([F.pad(vb, (0, 0, 0, 0, 1, 0))[:, :, :nb], vb], dim=3)
    scores = (qb @ kk.transpose(-1, -2)) * scale                                # [B, H, nb, W, 2W]
    i = torch.arange(W, device=dev)[:, None]
    j = torch.arange(2 * W, device=dev)[None, :]
    rel = i - (j - W)                                                           # query pos - key pos
    allowed = ((rel >= 0) & (rel < W)).unsqueeze(0).repeat(nb, 1, 1)            # [nb, W, 2W]
    allowed[0, :, :W] = False                                                   # no block before 0
    if pk is not None and pk.shape[-2] > 0:
        Np = pk.shape[-2]
        scores = torch.cat([(qb @ pk.unsqueeze(2).transpose(-1, -2)) * scale, scores], dim=-1)
        allowed = torch.cat([torch.ones(nb, W, Np, dtype=torch.bool, device=dev), allowed], dim=-1)
        vk = torch.cat([pv.unsqueeze(2).expand(B, H, nb, Np, dh), vk], dim=3)
    out = _softmax_attend(scores, allowed, vk)                                  # [B, H, nb, W, dh]
    return out.reshape(B, H, nb * W, dh)[:, :, :T]


def _heads(x: Tensor, H: int) -> Tensor:
    """[..., T, H*d_h] -> [..., H, T, d_h] (head h = features h*d_h .. (h+1)*d_h - 1)."""
    *lead, T, HD = x.shape
    return x.reshape(*lead, T, H, HD // H).transpose(-2, -3)


def _merge(x: Tensor) -> Tensor:
    """[B, H, T, d_h] -> [B, T, H*d_h]."""
    B, H, T, dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * dh)


# ---------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------

class _Node(nn.Module):
    """Plain container so that parameter names are the dotted tensor names."""


class Model(nn.Module):
    """Logits [B, T, V] from ids [B, T] for one architecture (docs/MODELS.md).

    tensors: name -> tensor (every name of ``param_shapes(cfg)``, nothing else); None = ``init_params``.
    memory_impl: "chunked" (neural_memory.chunked_memory, the peer) or "sequential" (the oracle).
    """

    def __init__(self, cfg: Union[ModelConfig, dict], tensors: Optional[Dict[str, Tensor]] = None,
                 dtype=torch.float64, seed: int = 0, memory_impl: str = "chunked",
                 check_finite: bool = True):
        super().__init__()
        if isinstance(cfg, dict):
            cfg = ModelConfig.from_dict(cfg)
        cfg.validate()
        self.cfg = cfg
        self.mem_cfg = cfg.memory_config(check_finite) if cfg.arch in TITANS else None
        if memory_impl not in ("chunked", "sequential"):
            raise ValueError("memory_impl must be chunked or sequential")
        self.memory_impl = memory_impl
        self._mac_leak = False   # test hook: MAC mask lets query i see h_j for every j (must break causality)
        shapes = param_shapes(cfg)
        if tensors is None:
            tensors = init_params(cfg, seed, dtype)
        missing = [n for n in shapes if n not in tensors]
        extra = [n for n in tensors if n not in shapes]
        if missing or extra:
            raise ValueError(f"{cfg.arch}: tensors missing {missing[:8]}, unexpected {extra[:8]}")
        for name, shape in shapes.items():
            t = tensors[name]
            if tuple(t.shape) != tuple(shape):
                raise ValueError(f"tensor {name}: shape {tuple(t.shape)}, expected {tuple(shape)}")
            self._register(name, nn.Parameter(t.detach().to(dtype).clone()))

    def _register(self, dotted: str, p: nn.Parameter):
        *path, leaf = dotted.split(".")
        mod = self
        for part in path:
            if not hasattr(mod, part) or not isinstance(getattr(mod, part), nn.Module):
                mod.add_module(part, _Node())
            mod = getattr(mod, part)
        mod.register_parameter(leaf, p)

    # -- helpers --------------------------------------------------------------------------------------

    def _rms(self, x, w):
        return rms_norm(x, w, self.cfg.norm_eps)

    def _mem_params(self, P, i):
        pre = f"layers.{i}.memory."
        return {k[len(pre):]: v for k, v in P.items() if k.startswith(pre)}

    def _memory(self, mp, x, state=None):
        fn = nm.chunked_memory if self.memory_impl == "chunked" else nm.sequential_memory
        return fn(mp, x, self.mem_cfg, state)

    def _persistent(self, P, i, B):
        p = P.get(f"layers.{i}.persistent")
        return None if p is None else p.unsqueeze(0).expand(B, -1, -1)

    def _gate(self, P, pre, y, m):
        yn = self._rms(y, P[pre + "gate.norm_y"])
        mn = self._rms(m, P[pre + "gate.norm_m"])
        z = yn * torch.sigmoid(mn) if self.cfg.gate == "sigmoid" else yn + mn
        return linear(z, P[pre + "gate.w_o"])

    def _prefix_kv(self, P, pre, pers):
        """Persistent keys/values (no RoPE): [1, H, N_p, d_h] each, or (None, None)."""
        if pers is None:
            return None, None
        H = self.cfg.n_heads
        Pm = pers[:1]
        return _heads(linear(Pm, P[pre + "attn.w_k"]), H), _heads(linear(Pm, P[pre + "attn.w_v"]), H)

    def _attention(self, P, pre, n, window, pers=None):
        """MODELS.md item 3 (+ item 7's persistent prefix): n [B, T, d] at positions 0..T-1."""
        c, H = self.cfg, self.cfg.n_heads
        T = n.shape[1]
        pos = torch.arange(T, device=n.device)
        q = rope(_heads(linear(n, P[pre + "attn.w_q"]), H), pos, c.rope_theta)
        k = rope(_heads(linear(n, P[pre + "attn.w_k"]), H), pos, c.rope_theta)
        v = _heads(linear(n, P[pre + "attn.w_v"]), H)
        pk, pv = self._prefix_kv(P, pre, pers)
        o = local_attention(q, k, v, window, pk, pv)
        return linear(_merge(o), P[pre + "attn.w_o"])

    # -- mixers ---------------------------------------------------------------------------------------

    def _memory_mixer(self, P, i, n):
        """Memory(P || n), P's outputs dropped (items 5, 6)."""
        pers = self._persistent(P, i, n.shape[0])
        x = n if pers is None else torch.cat([pers, n], dim=1)
        out, _ = self._memory(self._mem_params(P, i), x)
        return out[:, x.shape[1] - n.shape[1]:]

    def _mag(self, P, i, n):
        pre = f"layers.{i}."
        pers = self._persistent(P, i, n.shape[0])
        y = self._attention(P, pre, n, self.cfg.window, pers)
        m = self._memory_mixer(P, i, n)
        return self._gate(P, pre, y, m)

    def _mac(self, P, i, n):
        """MODELS.md item 8: segments of `segment` tokens; per segment retrieve (M*_{s-1}), attend over
        [P | h | n_s], write/read the memory with Y, gate."""
        c, H, pre = self.cfg, self.cfg.n_heads, f"layers.{i}."
        B, T, _ = n.shape
        mp, mc = self._mem_params(P, i), self.mem_cfg
        K = mc.conv_kernel
        pers = self._persistent(P, i, B)
        pk, pv = self._prefix_kv(P, pre, pers)
        Np = 0 if pk is None else pk.shape[-2]
        q_pre = linear(n, mp["w_q"])                              # retrieval stream's pre-conv projections
        q_pre = F.pad(q_pre, (0, 0, K - 1, 0))                    # zeros before the sequence start
        state, outs = None, []
        for s0 in range(0, T, c.segment):
            ns = n[:, s0:s0 + c.segment]
            C = ns.shape[1]
            tail = q_pre[:, s0:s0 + K - 1]                        # the K-1 projections before s0
            h = nm.read_only(mp, ns, mc, state=state, q_tail=tail)   # [B, C, d]
            pos = torch.arange(s0, s0 + C, device=n.device)
            pos2 = torch.cat([pos, pos])
            kv_in = torch.cat([h, ns], dim=1)                     # [B, 2C, d]
            q = rope(_heads(linear(ns, P[pre + "attn.w_q"]), H), pos, c.rope_theta)
            k = rope(_heads(linear(kv_in, P[pre + "attn.w_k"]), H), pos2, c.rope_theta)
            v = _heads(linear(kv_in, P[pre + "attn.w_v"]), H)
            scale = 1.0 / math.sqrt(c.dh)
            scores = (q @ k.transpose(-1, -2)) * scale            # [B, H, C, 2C]
            ii = torch.arange(C, device=n.device)[:, None]
            jj = torch.arange(2 * C, device=n.device)[None, :] % C
            allowed = jj <= ii
            if self._mac_leak:
                allowed = allowed.clone()
                allowed[:, :C] = True
            if Np:
                scores = torch.cat([(q @ pk.transpose(-1, -2)) * scale, scores], dim=-1)
                allowed = torch.cat([torch.ones(C, Np, dtype=torch.bool, device=n.device), allowed], -1)
                v = torch.cat([pv.expand(B, -1, -1, -1), v], dim=-2)
            Y = linear(_merge(_softmax_attend(scores, allowed, v)), P[pre + "attn.w_o"])
            m, state = self._memory(mp, Y, state)
            outs.append(self._gate(P, pre, Y, m))
        return torch.cat(outs, dim=1)

    def _infini(self, P, i, n):
        """architectures.md §8 / MODELS.md item 10, segment by segment with BPTT through M, z."""
        c, H, dh, pre = self.cfg, self.cfg.n_heads, self.cfg.dh, f"layers.{i}."
        B, T, _ = n.shape
        S = c.segment
        q = _heads(linear(n, P[pre + "attn.w_q"]), H)          # [B, H, T, d_h]
        k = _heads(linear(n, P[pre + "attn.w_k"]), H)
        v = _heads(linear(n, P[pre + "attn.w_v"]), H)
        pos = torch.arange(T, device=n.device)
        qr, kr = rope(q, pos, c.rope_theta), rope(k, pos, c.rope_theta)
        # local attention: causal within each segment, all segments at once
        ns = -(-T // S)
        pad = ns * S - T
        qs, ks, vs = (F.pad(t, (0, 0, 0, pad)).reshape(B, H, ns, S, dh) for t in (qr, kr, v))
        scores = (qs @ ks.transpose(-1, -2)) / math.sqrt(dh)     # [B, H, ns, S, S]
        causal = torch.ones(S, S, dtype=torch.bool, device=n.device).tril()
        a_dot = _softmax_attend(scores, causal, vs).reshape(B, H, ns * S, dh)[:, :, :T]
        # compressive memory
        sq, sk = F.elu(q) + 1.0, F.elu(k) + 1.0
        M = q.new_zeros(B, H, dh, dh)
        z = q.new_zeros(B, H, dh)
        a_mem = []
        N = c.infini_bptt_segments
        for s in range(ns):
            a, b = s * S, min(T, (s + 1) * S)
            if N > 0 and s > 0 and s % N == 0:
                M, z = M.detach(), z.detach()
            sqs, sks, vss = sq[:, :, a:b], sk[:, :, a:b], v[:, :, a:b]
            a_mem.append((sqs @ M) / torch.clamp_min(sqs @ z.unsqueeze(-1), 1e-6))
            if s == ns - 1:
                break
            if c.infini_update == "linear":
                M = M + sks.transpose(-1, -2) @ vss
            else:
                ret = (sks @ M) / torch.clamp_min(sks @ z.unsqueeze(-1), 1e-6)
                M = M + sks.transpose(-1, -2) @ (vss - ret)
            z = z + sks.sum(-2)
        a_mem = torch.cat(a_mem, dim=2)
        g = torch.sigmoid(P[pre + "attn.beta"]).view(1, H, 1, 1)
        A = g * a_mem + (1.0 - g) * a_dot
        return linear(_merge(A), P[pre + "attn.w_o"])

    # -- forward --------------------------------------------------------------------------------------

    def forward(self, ids: Tensor) -> Tensor:
        c = self.cfg
        P = dict(self.named_parameters())
        ids = ids.long()
        x = P["embed"][ids]
        for i in range(c.n_layers):
            pre = f"layers.{i}."
            if c.arch == "titans_mal":
                x = x + self._memory_mixer(P, i, self._rms(x, P[pre + "norm_mem"]))
                x = x + self._attention(P, pre, self._rms(x, P[pre + "norm_mix"]), c.window)
            else:
                n = self._rms(x, P[pre + "norm_mix"])
                if c.arch == "transformer":
                    o = self._attention(P, pre, n, 0)
                elif c.arch == "swa":
                    o = self._attention(P, pre, n, c.window)
                elif c.arch == "titans_lmm":
                    o = self._memory_mixer(P, i, n)
                elif c.arch == "titans_mag":
                    o = self._mag(P, i, n)
                elif c.arch == "titans_mac":
                    o = self._mac(P, i, n)
                else:
                    o = self._infini(P, i, n)
                x = x + o
            nf = self._rms(x, P[pre + "norm_ffn"])
            x = x + linear(F.silu(linear(nf, P[pre + "ffn.w1"])) * linear(nf, P[pre + "ffn.w3"]),
                           P[pre + "ffn.w2"])
        h = self._rms(x, P["norm_f"])
        return linear(h, P["embed"] if c.tie_embeddings else P["lm_head"])


def load_model(src, dtype=torch.float64, **kw) -> Model:
    """src: a safetensors path (metadata "config" = the config JSON; tensors named as in FORMAT.md, or
    ``param.<name>`` as in a model_dump file, other tensors ignored) or a (config dict, tensor dict)."""
    if isinstance(src, (str, os.PathLike)):
        tensors, meta = read_safetensors(str(src))
        if "config" not in meta:
            raise ValueError(f"{src}: no 'config' in the safetensors metadata")
        cfg = meta["config"]
        cfg = json.loads(cfg) if isinstance(cfg, str) else cfg
        if any(k.startswith("param.") for k in tensors):
            tensors = {k[len("param."):]: v for k, v in tensors.items() if k.startswith("param.")}
    else:
        cfg, tensors = src
    if not isinstance(cfg, ModelConfig):
        cfg = ModelConfig.from_dict(cfg)
    return Model(cfg, tensors, dtype=dtype, **kw)
