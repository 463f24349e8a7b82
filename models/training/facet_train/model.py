"""The Facet model: a photo encoder with attribute heads and a caption decoder.

The two halves are exported as the bundle's encoder.onnx and decoder.onnx
(models/FORMAT.md), so their `forward` signatures are those graphs' signatures.
Attention is written out by hand (not nn.MultiheadAttention) so that the
exported decoder is exactly the documented graph, with its key/value cache.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .backbones import build_backbone
from .tokenizer import BOS_ID, EOS_ID, PAD_ID

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Additive attention bias for masked keys. Not -inf: a row with every key
# masked would give NaN, and -1e4 already underflows exp() to exactly 0.
MASKED = -1e4


@dataclass
class ModelConfig:
    vocab_size: int
    attributes: list[tuple[str, int]]  # (name, label count), in dataset order
    image_size: int = 128
    backbone: str = "scratch"  # "scratch" or a torchvision architecture (backbones.py)
    widths: list[int] = field(default_factory=lambda: [24, 32, 64, 96, 128])  # scratch: one stride-2 stage each
    depths: list[int] = field(default_factory=lambda: [0, 1, 1, 1, 1])  # scratch: extra residual convs per stage
    d_model: int = 128
    layers: int = 2
    heads: int = 4
    ffn: int = 512
    max_length: int = 40  # generated tokens, <eos> included, <bos> not
    dropout: float = 0.1
    # One more feature token per photo, made from the attribute heads' probabilities,
    # so that the text reads the heads' verdict and agrees with it.
    attribute_token: bool = True
    # The familiarity output (Familiarity): principal components kept, and class centres
    # (the first attribute's labels). 0 until it is fitted after training.
    familiarity_components: int = 0
    familiarity_classes: int = 0

    def __post_init__(self) -> None:
        self.attributes = [(str(n), int(c)) for n, c in self.attributes]
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        if self.image_size % 32:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of 32")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def grid(self) -> int:
        return self.image_size // 32

    @property
    def feature_tokens(self) -> int:
        return self.grid * self.grid + (1 if self.attribute_token else 0)

    def to_json(self) -> dict:
        return asdict(self)


def normalise_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (or float in [0, 1]) [..., 3, S, S] -> the encoder's normalised float input."""
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype).view(3, 1, 1)
    return (images - mean) / std


class Dense(nn.Linear):
    """nn.Linear computed as a 1×1 convolution outside ONNX export.

    Debian's PyTorch runs matrix products on the reference BLAS, which is 15–40×
    slower here than oneDNN's convolutions; a 1×1 convolution is the same
    product. Exported graphs keep a plain MatMul/Gemm. Same parameters and
    state-dict keys as nn.Linear.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return F.linear(x, self.weight, self.bias)
        shape = x.shape
        y = F.conv2d(x.reshape(-1, shape[-1], 1, 1), self.weight[:, :, None, None], self.bias)
        return y.reshape(*shape[:-1], self.out_features)


class Familiarity(nn.Module):
    """How unlike the training photos a photo is: the squared Mahalanobis distance of its pooled
    backbone features to the nearest class centre of the training photos (shared within-class
    covariance), in the top principal components, divided by their number (about 1 for a
    training-like photo). Fitted after training (familiarity.py); its threshold lives in the manifest.

    In the encoder graph it is one matrix product and a minimum: `projection` folds the centring,
    the principal components and the whitening together.
    """

    def __init__(self, inputs: int, components: int, classes: int):
        super().__init__()
        self.register_buffer("projection", torch.zeros(components, inputs))
        self.register_buffer("centres", torch.zeros(classes, components))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        z = torch.matmul(pooled, self.projection.t())  # [N, k]
        distances = ((z.unsqueeze(1) - self.centres.unsqueeze(0)) ** 2).sum(dim=-1)  # [N, classes]
        return distances.amin(dim=1) / self.projection.shape[0]


class PhotoEncoder(nn.Module):
    """Normalised photos [N, 3, S, S] -> feature tokens [N, F, D], per-attribute softmax
    probabilities and, once fitted, each photo's familiarity [N].

    This is encoder.onnx; `output_names` are its outputs, in `forward`'s order.
    """

    def __init__(self, config: ModelConfig, backbone_weights: str | None = None):
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config.backbone, backbone_weights, config.widths, config.depths)
        # oneDNN's convolutions run about twice as fast on channels-last tensors here.
        self.backbone.to(memory_format=torch.channels_last)
        channels = self.backbone.out_channels
        d = config.d_model
        self.project = Dense(channels, d)
        self.position = nn.Parameter(torch.randn(config.grid * config.grid, d) * 0.02)  # one per grid cell
        self.head_dropout = nn.Dropout(config.dropout)
        # Heads read average- and max-pooled features: a gemstone is small, and max pooling keeps it.
        self.heads = nn.ModuleList(Dense(2 * channels, count) for _, count in config.attributes)
        if config.attribute_token:
            self.attribute_token = Dense(sum(c for _, c in config.attributes), d)
        self.norm = nn.LayerNorm(d)
        self.familiarity = (
            Familiarity(2 * channels, config.familiarity_components, config.familiarity_classes) if config.familiarity_components else None
        )

    @property
    def output_names(self) -> list[str]:
        names = ["features", *(f"probs_{name}" for name, _ in self.config.attributes)]
        return names + (["familiarity"] if self.familiarity is not None else [])

    def backbone_map(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised photos -> the backbone's feature map [N, C, g, g]."""
        return self.backbone(images.contiguous(memory_format=torch.channels_last))

    @staticmethod
    def pool(fmap: torch.Tensor) -> torch.Tensor:
        """[N, C, g, g] -> [N, 2C]: average- and max-pooled."""
        return torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1)

    def from_map(self, fmap: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The encoder's outputs from a backbone feature map (the frozen warm-up trains on cached maps)."""
        pooled = self.pool(fmap)
        probs = [torch.softmax(head(self.head_dropout(pooled)), dim=-1) for head in self.heads]
        tokens = self.project(fmap.flatten(2).transpose(1, 2)) + self.position  # [N, g*g, D]
        if self.config.attribute_token:
            # Detached: the heads learn from labels only; the text learns to read them.
            verdict = self.attribute_token(torch.cat(probs, dim=-1).detach())
            tokens = torch.cat([tokens, verdict.unsqueeze(1)], dim=1)
        outputs = (self.norm(tokens), *probs)
        return outputs + ((self.familiarity(pooled),) if self.familiarity is not None else ())

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Returns (features, probs of attribute 0, probs of attribute 1, …[, familiarity])."""
        return self.from_map(self.backbone_map(images))


def _tied_projection(x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """Output logits with the token embedding as weights (see Dense for the convolution)."""
    if torch.onnx.is_in_onnx_export():
        return torch.matmul(x, embedding.t())
    b, t, d = x.shape
    return F.conv2d(x.reshape(b * t, d, 1, 1), embedding[:, :, None, None]).reshape(b, t, embedding.shape[0])


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)  # [B, H, T, Dh]


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, h, t, dh = x.shape
    return x.transpose(1, 2).reshape(b, t, h * dh)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1])) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class DecoderLayer(nn.Module):
    """Pre-LN: causal self-attention (cached), cross-attention to the photos, feed-forward."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        d = config.d_model
        self.heads = config.heads
        self.self_norm = nn.LayerNorm(d)
        self.self_qkv = Dense(d, 3 * d)
        self.self_out = Dense(d, d)
        self.cross_norm = nn.LayerNorm(d)
        self.cross_q = Dense(d, d)
        self.cross_kv = Dense(d, 2 * d)
        self.cross_out = Dense(d, d)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(Dense(d, config.ffn), nn.GELU(), Dense(config.ffn, d))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, past_k, past_v, causal_bias, memory, memory_bias):
        q, k, v = self.self_qkv(self.self_norm(x)).chunk(3, dim=-1)
        k = torch.cat([past_k, _split_heads(k, self.heads)], dim=2)
        v = torch.cat([past_v, _split_heads(v, self.heads)], dim=2)
        x = x + self.dropout(self.self_out(_merge_heads(_attend(_split_heads(q, self.heads), k, v, causal_bias))))
        q = _split_heads(self.cross_q(self.cross_norm(x)), self.heads)
        if torch.onnx.is_in_onnx_export():
            attended = self._cross_attend_absorbed(q, memory, memory_bias)
        else:
            mk, mv = self.cross_kv(memory).chunk(2, dim=-1)
            attended = _attend(q, _split_heads(mk, self.heads), _split_heads(mv, self.heads), memory_bias)
        x = x + self.dropout(self.cross_out(_merge_heads(attended)))
        x = x + self.dropout(self.ffn(self.ffn_norm(x)))
        return x, k, v


    def _cross_attend_absorbed(self, q: torch.Tensor, memory: torch.Tensor, memory_bias: torch.Tensor) -> torch.Tensor:
        """Cross-attention without projecting the memory: the same numbers, in another order.

        q·(Wk m + bk) = (Wkᵀ q)·m + q·bk, and q·bk is the same for every key, so softmax
        ignores it; Σ a (Wv m + bv) = Wv (Σ a m) + bv because the weights a sum to 1. So the
        exported graph maps each head's query into memory space instead of mapping all M memory
        tokens into key/value space at every decoding step: per step O(B·H·T·M·D) instead of
        O(B·M·D²). Without this the memory projection dominates each cached step, and the key/value
        cache saves little. The export's check against PyTorch's plain form proves the identity.
        """
        h = self.heads
        d = memory.shape[-1]
        dh = d // h
        wk, wv = self.cross_kv.weight.chunk(2, dim=0)  # [D, D] each (out, in)
        bv = self.cross_kv.bias.chunk(2, dim=0)[1] if self.cross_kv.bias is not None else None
        q_mem = torch.matmul(q, wk.reshape(h, dh, d))  # [B, H, T, D]
        mem = memory.unsqueeze(1)  # [B, 1, M, D]
        scores = torch.matmul(q_mem, mem.transpose(-1, -2)) * (1.0 / math.sqrt(dh)) + memory_bias
        context = torch.matmul(torch.softmax(scores, dim=-1), mem)  # [B, H, T, D]
        out = torch.matmul(context, wv.reshape(h, dh, d).transpose(-1, -2))  # [B, H, T, Dh]
        return out + bv.reshape(h, 1, dh) if bv is not None else out


class CaptionDecoder(nn.Module):
    """tokens [B, T], past [B, 2L, H, P, Dh], memory [B, M, D], memory_mask [B, M]
    -> logits [B, T, V], present [B, 2L, H, P+T, Dh].

    This is decoder.onnx. One graph serves the whole prefix (P = 0) and one
    step with the cache (T = 1). Sizes come from tensor shapes through torch
    ops, so they stay dynamic in the exported graph.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size, d)
        self.position_embedding = nn.Embedding(config.max_length + 1, d)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.02)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)

    def empty_past(self, batch: int) -> torch.Tensor:
        c = self.config
        return torch.zeros(batch, 2 * c.layers, c.heads, 0, c.head_dim)

    def forward(self, tokens, past, memory, memory_mask):
        t = tokens.shape[1]
        p = past.shape[3]
        query_pos = torch.arange(t, device=tokens.device) + p  # [T]
        key_pos = torch.arange(p + t, device=tokens.device)  # [P+T]
        causal_bias = (key_pos.unsqueeze(0) > query_pos.unsqueeze(1)).to(memory.dtype) * MASKED  # [T, P+T]
        memory_bias = ((1.0 - memory_mask) * MASKED).unsqueeze(1).unsqueeze(1)  # [B, 1, 1, M]
        x = self.dropout(self.token_embedding(tokens) + self.position_embedding(query_pos))
        present = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, past[:, 2 * i], past[:, 2 * i + 1], causal_bias, memory, memory_bias)
            present += [k, v]
        logits = _tied_projection(self.norm(x), self.token_embedding.weight)
        return logits, torch.stack(present, dim=1)


@dataclass
class EncodedProducts:
    photo_probs: list[torch.Tensor]  # per attribute [N, labels], real photos in product order
    probs: list[torch.Tensor]  # per attribute [B, labels]: mean over the product's photos
    memory: torch.Tensor  # [B, K*F, D]: the photos' features concatenated, zero-padded
    memory_mask: torch.Tensor  # [B, K*F]
    familiarity: torch.Tensor | None  # [B]: mean over the product's photos; None before it is fitted


class FacetModel(nn.Module):
    def __init__(self, config: ModelConfig, backbone_weights: str | None = None):
        super().__init__()
        self.config = config
        self.encoder = PhotoEncoder(config, backbone_weights)
        self.decoder = CaptionDecoder(config)

    def encode_products(self, images: torch.Tensor, photo_mask: torch.Tensor, augment=None) -> EncodedProducts:
        """images uint8 [B, K, 3, S, S] with photo_mask [B, K] -> product probabilities and decoder memory."""
        real = photo_mask.bool()
        photos = images[real]  # [N, 3, S, S], product by product, photos in order
        photos = photos.float() / 255.0 if photos.dtype == torch.uint8 else photos
        if augment is not None:
            photos = augment(photos)
        return self._per_product(self.encoder(normalise_images(photos)), photo_mask)

    def encode_maps(self, maps: torch.Tensor, photo_mask: torch.Tensor) -> EncodedProducts:
        """The same from the real photos' backbone maps [N, C, g, g] (cached while the backbone is frozen)."""
        return self._per_product(self.encoder.from_map(maps), photo_mask)

    def _per_product(self, outputs: tuple[torch.Tensor, ...], photo_mask: torch.Tensor) -> EncodedProducts:
        """Photo outputs (real photos, product by product) -> per-product means and the padded decoder memory."""
        b, k = photo_mask.shape
        real = photo_mask.bool()
        n_attributes = len(self.config.attributes)
        features, photo_probs = outputs[0], list(outputs[1 : 1 + n_attributes])
        f, d = features.shape[1], features.shape[2]
        padded = features.new_zeros(b, k, f, d)
        padded[real] = features
        counts = photo_mask.sum(dim=1, keepdim=True)

        def mean(per_photo: torch.Tensor) -> torch.Tensor:
            per_product = per_photo.new_zeros(b, k, *per_photo.shape[1:])
            per_product[real] = per_photo
            return per_product.sum(dim=1) / counts.view(b, *([1] * (per_photo.dim() - 1)))

        familiarity = mean(outputs[1 + n_attributes]) if len(outputs) > 1 + n_attributes else None
        memory_mask = photo_mask.repeat_interleave(f, dim=1)
        return EncodedProducts(photo_probs, [mean(p) for p in photo_probs], padded.view(b, k * f, d), memory_mask, familiarity)

    def losses(self, encoded: EncodedProducts, batch, class_weights: list[torch.Tensor | None] | None = None) -> "Losses":
        """Joint loss: each attribute head's (class-weighted) NLL of the product's mean probabilities, plus text cross-entropy."""
        parts: dict[str, torch.Tensor] = {}
        for a, ((name, _), probs) in enumerate(zip(self.config.attributes, encoded.probs)):
            labels = batch.labels[:, a]
            if (labels >= 0).any():  # heads whose label is null for the whole batch add nothing
                weight = class_weights[a] if class_weights is not None else None
                parts[name] = F.nll_loss(torch.log(probs.clamp_min(1e-8)), labels, weight=weight, ignore_index=-100)
        logits = None
        if (batch.targets != PAD_ID).any():
            logits, _ = self.decoder(batch.tokens, self.decoder.empty_past(batch.tokens.shape[0]), encoded.memory, encoded.memory_mask)
            parts["text"] = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.targets.reshape(-1), ignore_index=PAD_ID)
        total = torch.stack(list(parts.values())).sum() if parts else torch.zeros(())
        return Losses(total, parts, encoded.probs, logits)


@dataclass
class Losses:
    total: torch.Tensor
    parts: dict[str, torch.Tensor]  # one per attribute head with a label in the batch, and "text"
    probs: list[torch.Tensor]  # per attribute [B, labels]
    logits: torch.Tensor | None  # teacher-forced [B, T, V]; None when no product has a reference


@torch.no_grad()
def greedy_decode(
    decoder: CaptionDecoder,
    memory: torch.Tensor,
    memory_mask: torch.Tensor,
    max_length: int | None = None,
    banned: list[set[int]] | None = None,
    once: frozenset[int] = frozenset(),
) -> list[list[int]]:
    """Greedy token ids per product (no <bos>, up to and including <eos>), through the cache path.

    Same calls as the runtime makes on decoder.onnx: first [<bos>] with P = 0,
    then one token at a time with the previous `present` as `past`. `banned[b]` are ids row b
    never emits (constrained decoding: slots of attributes it must not state); an id in `once`
    is banned for a row after the row has emitted it (each slot at most once), and no row emits
    its previous token again (house-style text has no doubled word; a decoder on unfamiliar photos
    can otherwise loop). The runtime applies the same rules (models/runtime/greedy-decoder.ts).
    """
    max_length = max_length or decoder.config.max_length
    batch = memory.shape[0]
    tokens = torch.full((batch, 1), BOS_ID, dtype=torch.int64)
    past = decoder.empty_past(batch)
    out: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    rows_banned = [set(b) for b in banned] if banned is not None else [set() for _ in range(batch)]
    for _ in range(max_length):
        logits, past = decoder(tokens, past, memory, memory_mask)
        step = logits[:, -1].clone()
        for b, ids in enumerate(rows_banned):
            if ids:
                step[b, sorted(ids)] = -math.inf
            if out[b]:
                step[b, out[b][-1]] = -math.inf
        chosen = step.argmax(dim=-1)  # first index on ties, like the runtime
        for b in range(batch):
            if not done[b]:
                token = int(chosen[b])
                out[b].append(token)
                done[b] = token == EOS_ID
                if token in once:
                    rows_banned[b].add(token)
        if all(done):
            break
        tokens = chosen.unsqueeze(1)
    return out
