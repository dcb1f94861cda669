#!/usr/bin/python3
"""Export the untrained stitch zoo architectures as TorchScript files with metadata attributes.

Run with Debian's /usr/bin/python3 (the only interpreter here with torch):
    /usr/bin/python3 scripts/export_architectures.py --out models/arch [--seed 0] [--only cnn,mlp]
    /usr/bin/python3 scripts/export_architectures.py --only cnn --width 4      # -> cnn_w4.pt
    /usr/bin/python3 scripts/export_architectures.py --only cnn --channels 3   # -> cnn_rgb.pt

Every model takes images in [0, 1] of shape [N, 1, 28, 28] and normalises them inside `forward`
(Fashion-MNIST mean/std), so attacks and markers work in pixel space. The C++ side (stitch
train-model) trains the parameters and fills the training attributes declared here.
"""
import argparse
import os
import sys
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

META_VERSION = 1
MEAN, STD = 0.2860, 0.3530


class Meta(nn.Module):
    """Base class that declares the metadata attributes every exported model carries."""

    def __init__(self, arch: str, points: List[str]):
        super().__init__()
        self.stitch_meta_version: int = META_VERSION
        self.arch: str = arch
        self.input_shape: List[int] = [1, 28, 28]
        self.num_classes: int = 10
        self.norm_mean: float = MEAN
        self.norm_std: float = STD
        self.stitch_points: List[str] = points
        # Training metadata, filled in by `stitch train-model`.
        self.recipe: str = "untrained"
        self.seed: int = -1
        self.epochs: int = 0
        self.clean_accuracy: float = -1.0
        self.robust_accuracy: float = -1.0
        self.marker_accuracy: float = -1.0
        self.rolled_marker_accuracy: float = -1.0
        self.train_info: str = ""


class MLP(Meta):
    def __init__(self):
        super().__init__("mlp", ["layer1", "layer2", "layer3"])
        self.layer1 = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Linear(256, 256), nn.ReLU())
        self.layer3 = nn.Sequential(nn.Linear(256, 128), nn.ReLU())
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = (x - self.norm_mean) / self.norm_std
        return self.fc(self.layer3(self.layer2(self.layer1(x))))


def conv_bn(cin: int, cout: int) -> List[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class CNN(Meta):
    """Small CNN; `width` multiplies the channels of the three blocks (x1: 16/32/64), `channels`
    is the number of input channels (3 for RGB data such as the tinted Fashion-MNIST)."""

    def __init__(self, width: int = 1, channels: int = 1):
        super().__init__("cnn", ["block1", "block2", "block3", "head"])
        self.input_shape = [channels, 28, 28]
        c1, c2, c3 = 16 * width, 32 * width, 64 * width
        self.block1 = nn.Sequential(*conv_bn(channels, c1), nn.MaxPool2d(2))  # [N,c1,14,14]
        self.block2 = nn.Sequential(*conv_bn(c1, c2), nn.MaxPool2d(2))  # [N,c2,7,7]
        self.block3 = nn.Sequential(*conv_bn(c2, c3))  # [N,c3,7,7]
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c3 * 7 * 7, 128), nn.ReLU())
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = (x - self.norm_mean) / self.norm_std
        return self.fc(self.head(self.block3(self.block2(self.block1(x)))))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(Meta):
    """Narrow ResNet for 28x28: stem + 3 stages x 2 basic blocks (16/32/64 channels)."""

    def __init__(self):
        points = ["stem", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1"]
        super().__init__("resnet", points)
        self.stem = nn.Sequential(*conv_bn(1, 16))  # [N,16,28,28]
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 2), BasicBlock(16, 16, 1))  # 14x14
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32, 1))  # 7x7
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64, 1))  # 4x4
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = (x - self.norm_mean) / self.norm_std
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class ViTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(),
                                 nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """7x7 patches -> 16 tokens of width `dim`, plus a learned position embedding."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, 7, stride=7)
        self.pos = nn.Parameter(torch.randn(1, 16, dim) * 0.02)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2) + self.pos


class ViT(Meta):
    """Tiny ViT: patch 7 -> 16 tokens, width 64, 4 pre-norm blocks, mean-pooled head."""

    def __init__(self, dim: int = 64, depth: int = 4, heads: int = 4):
        points = ["patch_embed"] + ["blocks.%d" % i for i in range(depth)]
        super().__init__("vit", points)
        self.patch_embed = PatchEmbed(dim)  # [N,16,64]
        self.blocks = nn.Sequential(*[ViTBlock(dim, heads, 2) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = (x - self.norm_mean) / self.norm_std
        x = self.norm(self.blocks(self.patch_embed(x)))
        return self.head(x.mean(dim=1))


ARCHS = {"mlp": MLP, "cnn": CNN, "resnet": ResNet, "vit": ViT}


def export(name: str, out_dir: str, seed: int, width: int = 1, channels: int = 1) -> str:
    """Writes <out_dir>/<name>[_w<width>][_rgb].pt (suffixes only for non-default cnn options)."""
    torch.manual_seed(seed)
    model = (CNN(width, channels) if name == "cnn" else ARCHS[name]()).eval()
    scripted = torch.jit.script(model)
    with torch.no_grad():
        y = scripted(torch.rand(2, channels, 28, 28))
    assert tuple(y.shape) == (2, 10), y.shape
    suffix = ("_w%d" % width if width != 1 else "") + ("_rgb" if channels == 3 else
                                                        "_c%d" % channels if channels != 1 else "")
    path = os.path.join(out_dir, name + suffix + ".pt")
    tmp = path + ".tmp"
    scripted.save(tmp)
    os.replace(tmp, path)  # atomic: a half-written file never carries the final name
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="models/arch", help="output folder")
    ap.add_argument("--seed", type=int, default=0, help="seed of the untrained initialisation")
    ap.add_argument("--only", default=",".join(ARCHS), help="comma-separated subset of " + ",".join(ARCHS))
    ap.add_argument("--width", type=int, default=1, help="cnn only: channel multiplier (1: 16/32/64)")
    ap.add_argument("--channels", type=int, default=1, help="cnn only: input channels (3: RGB data)")
    args = ap.parse_args()
    names = args.only.split(",")
    if args.width < 1 or args.channels < 1:
        print("export_architectures.py: --width and --channels must be >= 1", file=sys.stderr)
        return 2
    if (args.width != 1 or args.channels != 1) and names != ["cnn"]:
        print("export_architectures.py: --width/--channels apply to the cnn only: add --only cnn",
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        if name not in ARCHS:
            print("export_architectures.py: unknown architecture '%s' (valid: %s)" % (name, ", ".join(ARCHS)),
                  file=sys.stderr)
            return 2
        print(export(name, args.out, args.seed, args.width, args.channels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
