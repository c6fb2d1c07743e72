#!/usr/bin/env python3
"""PyTorch's ms per DCGAN training step, to set beside duel's on the same GPU.

The same model, losses, optimiser and step order as duel's benches:
  --recipe plain    what `cargo bench --bench train_step` trains: ModelConfig::default()
                    (unconditional DCGAN, widths 64) with Recipe::default() (BCE on
                    logits, Adam 2e-4, betas 0.5 and 0.999).
  --recipe default  what `cargo bench --bench page_step` and mnist_dcgan train: the same
                    DCGAN made conditional (G takes a one-hot class after its noise, D is
                    a projection discriminator), hinge loss, spectral norm on D's weights,
                    and an average of G's weights (0.995).
A step, as gan::Gan::step: G makes a batch; D trains on the real batch and the detached
fake one; G trains through the updated D; then the average takes in G's weights.
Real images are random in [-1, 1], already on the GPU: duel samples its batches on the
GPU too, so neither side pays for loading data.

Float32 throughout (TF32 off, as duel has no TF32), cuDNN autotuning on. One difference
stays: PyTorch's spectral norm runs a power iteration at each of D's three forwards a
step, duel's one a step.

usage: python3 benches/pytorch/dcgan_step.py [--recipe plain|default] [--batch 32 64 256]
       [--graph]   (also time the whole step captured as one CUDA graph)
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NZ, CLASSES, WIDTH = 100, 10, 64


class Generator(nn.Module):
    # Dense to 7×7×128, then two transposed convolutions that double the side: 28×28×1.
    def __init__(self, inputs):
        super().__init__()
        self.dense = nn.Linear(inputs, 7 * 7 * 2 * WIDTH, bias=False)
        self.bn0 = nn.BatchNorm1d(7 * 7 * 2 * WIDTH)
        self.up1 = nn.ConvTranspose2d(2 * WIDTH, WIDTH, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTH)
        self.up2 = nn.ConvTranspose2d(WIDTH, 1, 4, 2, 1, bias=False)

    def forward(self, z):
        x = F.relu(self.bn0(self.dense(z))).view(-1, 2 * WIDTH, 7, 7)
        x = F.relu(self.bn1(self.up1(x)))
        return torch.tanh(self.up2(x))


class Discriminator(nn.Module):
    # Two stride-2 convolutions (28 → 14 → 7), then Dense to one logit; a conditional D
    # adds the projection of its features on its class embedding.
    def __init__(self, conditional, spectral):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        self.conv1 = sn(nn.Conv2d(1, WIDTH, 4, 2, 1, bias=False))
        self.conv2 = sn(nn.Conv2d(WIDTH, 2 * WIDTH, 4, 2, 1, bias=False))
        self.bn2 = nn.BatchNorm2d(2 * WIDTH)
        self.out = sn(nn.Linear(7 * 7 * 2 * WIDTH, 1))
        self.embed = nn.Linear(CLASSES, 7 * 7 * 2 * WIDTH, bias=False) if conditional else None

    def forward(self, x, onehot):
        x = F.leaky_relu(self.conv1(x), 0.2)
        features = F.leaky_relu(self.bn2(self.conv2(x)), 0.2).flatten(1)
        out = self.out(features)
        if self.embed is not None:
            out = out + (self.embed(onehot) * features).sum(1, keepdim=True)
        return out


def make_step(recipe, batch, device, capturable):
    conditional = recipe == "default"
    g = Generator(NZ + (CLASSES if conditional else 0)).to(device)
    d = Discriminator(conditional, spectral=conditional).to(device)
    average = Generator(NZ + (CLASSES if conditional else 0)).to(device).requires_grad_(False)
    average.load_state_dict(g.state_dict())
    # A graph replays Adam's step count from GPU memory: `capturable` keeps it there.
    adam = dict(lr=2e-4, betas=(0.5, 0.999), capturable=capturable)
    opt_g = torch.optim.Adam(g.parameters(), **adam)
    opt_d = torch.optim.Adam(d.parameters(), **adam)
    eye = torch.eye(CLASSES, device=device)
    real = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    z = torch.empty(batch, NZ, device=device)
    labels = torch.empty(batch, dtype=torch.long, device=device)

    def d_loss(on_real, on_fake):
        if conditional:
            return F.relu(1 - on_real).mean() + F.relu(1 + on_fake).mean()
        return (F.binary_cross_entropy_with_logits(on_real, ones)
                + F.binary_cross_entropy_with_logits(on_fake, zeros))

    def g_loss(on_fake):
        return -on_fake.mean() if conditional else F.binary_cross_entropy_with_logits(on_fake, ones)

    def step():
        z.normal_()
        labels.random_(0, CLASSES)
        # Rows of the identity rather than F.one_hot, which checks its input on the host.
        onehot = eye[labels]
        fake = g(torch.cat([z, onehot], 1) if conditional else z)
        opt_d.zero_grad(set_to_none=False)
        d_loss(d(real, onehot), d(fake.detach(), onehot)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=False)
        d.requires_grad_(False)
        g_loss(d(fake, onehot)).backward()
        d.requires_grad_(True)
        opt_g.step()
        if conditional:
            torch._foreach_lerp_(list(average.parameters()), list(g.parameters()), 1 - 0.995)

    return step


def time_ms(step, steps=50, warm_up=10):
    for _ in range(warm_up):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000 / steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", choices=["plain", "default"], default="plain")
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64, 256])
    parser.add_argument("--graph", action="store_true")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda")
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name()}, recipe {args.recipe}")
    for batch in args.batch:
        torch.manual_seed(1)
        step = make_step(args.recipe, batch, device, capturable=False)
        line = f"batch {batch}: eager {time_ms(step):.2f} ms per step"
        if args.graph:
            step = make_step(args.recipe, batch, device, capturable=True)
            # Capture after warm-up on a side stream, as torch.cuda.graphs requires.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    step()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step()
            line += f", one CUDA graph {time_ms(graph.replay):.2f} ms"
        print(line, flush=True)


if __name__ == "__main__":
    main()
