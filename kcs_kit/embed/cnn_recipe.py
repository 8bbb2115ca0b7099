"""The data recipe of ``marknet``: synthetic training crops made on the fly from the registry's drawings.

Every crop (96 x 96, grey) shows one registered mark in its middle 64 x 64 window, as a phone photo of a
product might: warped in perspective, rotated, scaled, bent (bottles), mirrored now and then, thickened or
thinned, printed in any contrast, embossed (relief only) or woven (broken by threads), on textured, striped
or cluttered backgrounds with other marks and product edges, under uneven light, glare and shadow, partly
hidden by a finger or sticker, blurred, downsampled and noisy. Clean drawings are mixed in so that the
vector of a registered drawing lands where the photos of it do.

This is written independently of the photo benchmark's generator (``kcs_kit/bench/photogen``): the
network never sees that generator's pictures, so the benchmark stays held out. Everything is seeded.

Example::

    >>> import torch  # doctest: +SKIP
    >>> x = make_batch(masks, torch.tensor([0, 1]), torch.Generator().manual_seed(0))  # doctest: +SKIP
    >>> x.shape  # doctest: +SKIP
    torch.Size([2, 1, 96, 96])
"""

from __future__ import annotations

import math

import numpy as np

from kcs_kit.embed.cnn import CANVAS, WINDOW, design_canvas


def mark_masks(images: list[np.ndarray]) -> np.ndarray:
    """Registered drawings (dark on light) -> ink masks (n, 96, 96) in [0, 1], mark fitted in the middle 64."""
    return np.stack([1.0 - design_canvas(im) for im in images]).astype(np.float32)


def _u(g, n: int, lo: float, hi: float, torch):
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _p(g, n: int, p: float, torch):
    return torch.rand(n, generator=g) < p


def _homographies(g, n: int, torch, *, scale=(0.55, 1.05), rot=25.0, persp=0.12, shift=8.0):
    """Random homographies mapping output pixel coordinates (normalised -1..1) back to the mask."""
    import cv2

    s = _u(g, n, scale[0], scale[1], torch).numpy()
    a = np.radians(_u(g, n, -rot, rot, torch).numpy())
    big = _p(g, n, 0.08, torch).numpy()
    a = np.where(big, np.radians(_u(g, n, -180, 180, torch).numpy()), a)
    t = _u(g, 2 * n, -shift, shift, torch).numpy().reshape(n, 2) / (CANVAS / 2)
    jit = _u(g, 8 * n, -persp, persp, torch).numpy().reshape(n, 4, 2)
    src = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32)
    out = np.zeros((n, 3, 3), np.float32)
    for i in range(n):
        c, si = math.cos(a[i]) * s[i], math.sin(a[i]) * s[i]
        dst = (src + jit[i]) @ np.array([[c, si], [-si, c]], np.float32) + t[i]
        out[i] = cv2.getPerspectiveTransform(dst.astype(np.float32), src)  # output -> mask
    return torch.from_numpy(out)


def _warp(m, H, torch, bend=None):
    n, _, h, w = m.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    pts = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, -1, 3).expand(n, -1, -1)
    q = pts @ H.transpose(1, 2)
    grid = (q[..., :2] / q[..., 2:].clamp(min=1e-3)).reshape(n, h, w, 2)
    if bend is not None:  # curved surface: horizontal squeeze towards the edges of the item
        grid = grid.clone()
        grid[..., 0] = grid[..., 0] + bend[:, None, None] * torch.sin(grid[..., 1] * 1.5)
    return torch.nn.functional.grid_sample(m, grid, align_corners=True, padding_mode="zeros")


def _blur(x, sigma: float, torch):
    if sigma < 0.3:
        return x
    r = max(1, int(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.dtype)
    f = torch.nn.functional
    x = f.conv2d(f.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return f.conv2d(f.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


def _background(g, n: int, torch):
    f = torch.nn.functional
    base = _u(g, n, 0.1, 0.9, torch).view(n, 1, 1, 1)
    low = f.interpolate(torch.randn(n, 1, 6, 6, generator=g), size=(CANVAS, CANVAS), mode="bicubic",
                        align_corners=False)
    bg = base + _u(g, n, 0.0, 0.22, torch).view(n, 1, 1, 1) * low
    grain = _blur(torch.randn(n, 1, CANVAS, CANVAS, generator=g), 0.8, torch)
    bg = bg + _u(g, n, 0.0, 0.12, torch).view(n, 1, 1, 1) * grain
    ys, xs = torch.meshgrid(torch.arange(CANVAS, dtype=torch.float32), torch.arange(CANVAS, dtype=torch.float32),
                            indexing="ij")
    th = _u(g, n, 0, math.pi, torch).view(n, 1, 1, 1)
    fr = _u(g, n, 0.15, 0.6, torch).view(n, 1, 1, 1)
    stripes = torch.sin(fr * (xs * torch.cos(th) + ys * torch.sin(th)))
    bg = bg + (_p(g, n, 0.3, torch).float() * _u(g, n, 0.03, 0.15, torch)).view(n, 1, 1, 1) * stripes
    # a product edge: a step in brightness along a random line
    edge = (xs * torch.cos(th * 2) + ys * torch.sin(th * 2) - _u(g, n, 0, 96, torch).view(n, 1, 1, 1)) > 0
    bg = bg + (_p(g, n, 0.35, torch).float() * _u(g, n, -0.4, 0.4, torch)).view(n, 1, 1, 1) * edge.float()
    return bg, stripes


def _clutter(masks, g, n: int, torch):
    """Other marks around (and sometimes over) the item's mark, at other sizes and contrasts."""
    out = torch.zeros(n, 1, CANVAS, CANVAS)
    for _ in range(2):
        pick = torch.randint(0, masks.shape[0], (n,), generator=g)
        H = _homographies(g, n, torch, scale=(0.35, 1.0), rot=40, shift=70)
        m = _warp(masks[pick][:, None], H, torch)
        on = (_p(g, n, 0.45, torch).float() * _u(g, n, -0.6, 0.6, torch)).view(n, 1, 1, 1)
        out = out + on * m
    return out


def _occlude(x, g, torch):
    n = x.shape[0]
    ys, xs = torch.meshgrid(torch.arange(CANVAS, dtype=torch.float32), torch.arange(CANVAS, dtype=torch.float32),
                            indexing="ij")
    cx, cy = _u(g, n, 20, 76, torch).view(n, 1, 1, 1), _u(g, n, 20, 76, torch).view(n, 1, 1, 1)
    rx, ry = _u(g, n, 6, 22, torch).view(n, 1, 1, 1), _u(g, n, 6, 30, torch).view(n, 1, 1, 1)
    blob = (((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1).float()
    on = _p(g, n, 0.25, torch).float().view(n, 1, 1, 1)
    return x * (1 - on * blob) + on * blob * _u(g, n, 0.2, 0.9, torch).view(n, 1, 1, 1)


def _light(x, g, torch):
    n = x.shape[0]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, CANVAS), torch.linspace(-1, 1, CANVAS), indexing="ij")
    gx, gy = _u(g, n, -0.35, 0.35, torch).view(n, 1, 1, 1), _u(g, n, -0.35, 0.35, torch).view(n, 1, 1, 1)
    x = x * (1 + gx * xs + gy * ys)
    cx, cy = _u(g, n, -1, 1, torch).view(n, 1, 1, 1), _u(g, n, -1, 1, torch).view(n, 1, 1, 1)
    r = _u(g, n, 0.1, 0.5, torch).view(n, 1, 1, 1)
    spot = torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r**2))
    glare = (_p(g, n, 0.3, torch).float() * _u(g, n, 0.2, 0.8, torch)).view(n, 1, 1, 1)
    shadow = (_p(g, n, 0.2, torch).float() * _u(g, n, 0.2, 0.6, torch)).view(n, 1, 1, 1)
    return x + glare * spot - shadow * spot * x


def _morph(m, g, torch):
    f = torch.nn.functional
    n = m.shape[0]
    op = torch.rand(n, generator=g)
    dil = f.max_pool2d(m, 3, 1, 1)
    ero = -f.max_pool2d(-m, 3, 1, 1)
    sel = op.view(n, 1, 1, 1)
    return torch.where(sel < 0.15, dil, torch.where(sel < 0.3, ero, m))


def _compose(m, bg, stripes, g, torch):
    """Paint the warped mark: print in any contrast, emboss (relief only) or weave."""
    f = torch.nn.functional
    n = m.shape[0]
    mean = bg.mean(dim=(2, 3), keepdim=True)
    sign = torch.where(_p(g, n, 0.5, torch), 1.0, -1.0).view(n, 1, 1, 1)
    contrast = _u(g, n, 0.12, 0.75, torch).view(n, 1, 1, 1)
    ink = (mean + sign * contrast).clamp(0, 1)
    woven = _p(g, n, 0.15, torch).float().view(n, 1, 1, 1)
    mw = m * (1 - woven * 0.5 * (stripes + 1) * _u(g, n, 0.3, 0.8, torch).view(n, 1, 1, 1))
    printed = bg * (1 - mw) + ink * mw
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3) / 4
    th = _u(g, n, 0, 2 * math.pi, torch).view(n, 1, 1, 1)
    relief = torch.cos(th) * f.conv2d(m, kx, padding=1) + torch.sin(th) * f.conv2d(m, kx.transpose(2, 3), padding=1)
    embossed = bg + _u(g, n, 0.15, 0.5, torch).view(n, 1, 1, 1) * relief - 0.05 * m
    emb = _p(g, n, 0.2, torch).float().view(n, 1, 1, 1)
    return emb * embossed + (1 - emb) * printed


def make_batch(masks, labels, g, *, clean_share: float = 0.2):
    """A batch of training crops (n, 1, 96, 96) in [0, 1] for the designs ``labels`` of ``masks`` (N, 96, 96)."""
    import torch

    f = torch.nn.functional
    n = labels.shape[0]
    m = masks[labels][:, None]
    flip = _p(g, n, 0.15, torch).view(n, 1, 1, 1)
    m = torch.where(flip, m.flip(-1), m)
    bend = _p(g, n, 0.3, torch).float() * _u(g, n, -0.15, 0.15, torch)
    m = _morph(_warp(m, _homographies(g, n, torch), torch, bend), g, torch)
    bg, stripes = _background(g, n, torch)
    bg = bg + _clutter(masks, g, n, torch) * (1 - m)
    x = _light(_occlude(_compose(m, bg, stripes, g, torch), g, torch), g, torch)
    sig = float(_u(g, 1, 0.0, 1.8, torch))
    x = _blur(x, sig, torch)
    low = _p(g, 1, 0.3, torch)
    if bool(low):
        k = int(CANVAS * float(_u(g, 1, 0.4, 0.8, torch)))
        x = f.interpolate(f.interpolate(x, size=(k, k), mode="area"), size=(CANVAS, CANVAS), mode="bilinear")
    x = x + _u(g, n, 0.0, 0.05, torch).view(n, 1, 1, 1) * torch.randn(x.shape, generator=g)
    # clean drawings (dark on light or light on dark) with a mild warp
    clean = _p(g, n, clean_share, torch).view(n, 1, 1, 1)
    cm = _warp(masks[labels][:, None], _homographies(g, n, torch, scale=(0.8, 1.0), rot=8, persp=0.03, shift=3),
               torch)
    inv = _p(g, n, 0.3, torch).view(n, 1, 1, 1)
    cx = torch.where(inv, cm, 1 - cm)
    return torch.where(clean, cx, x).clamp(0, 1)


assert WINDOW == 64
