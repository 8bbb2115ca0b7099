"""Embossed and debossed marks: the height pressed into or raised from a surface, recovered from its shading.

An embossed mark has the surface's own colour: it shows only as light and shade along its edges, so colour
regions miss it and a text detector sees faint double edges. Under one light from direction l the photo's
log-intensity, once the product's own slow shading is removed, is about the derivative of the height along l,
so integrating along l gives the height back. In Fourier terms F(h) = F(I) / (i k.l), regularised as

    -i (k.l) F(I) / ((k.l)^2 + lambda)

(a high-pass along l of the height, with no division by zero where k is across l). The light's axis is the main
axis of the shading's own gradients, their structure tensor: the edges across the light are the ones that shade.
Its sign is left open: a raised mark comes out light, a sunken one dark, and readers of the image take both.

``relief_image`` turns a photo into that height as a grey image, in which an embossed word is a flat dark or
light word: matching reads it with OCR beside the photo itself (``kcs_kit.match.engine``). Written from the
physics of a lamp on a relief, not from the photo benchmark's generator. What it does not do: a mark whose
strokes run mostly along two directions biases the light's axis towards them (the height then comes out
smeared), and a light from straight above shades no edge at all.

Example::

    >>> import numpy as np
    >>> relief_image(np.full((480, 640, 3), 90, np.uint8)).shape  # a flat photo: a flat grey image
    (240, 320, 3)
"""

from __future__ import annotations

import numpy as np

from kcs_kit.embed._util import at_most, opencv

BASE_SIDE = 320  # the side the constants below are given at; they scale with the side asked for
RELIEF_LAMBDA = 0.01  # (radians per pixel)^2 at BASE_SIDE: heights up to ~60 px across are kept
RELIEF_FLAT = 12.0  # sigma (px at BASE_SIDE) of the blur removed first: the product's own shading and lighting
RELIEF_DARK = 8.0  # added to 0-255 grey levels before the logarithm: sensor noise in the darkest parts
RELIEF_SPREAD = 0.25  # the least height range stretched to 0-255 (photos: 1-9; a flat one with noise: 0.05)


def light_axis(shading: np.ndarray) -> float:
    """The axis (radians, -pi/2..pi/2) along which a relief's shading (high-passed log-intensity) varies most:
    the main axis of its gradients' structure tensor."""
    cv2 = opencv()
    d = cv2.GaussianBlur(np.asarray(shading, np.float32), (0, 0), 1.0)
    gx, gy = cv2.Sobel(d, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(d, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    return 0.5 * float(np.arctan2(2 * jxy, jxx - jyy))


def shading(rgb: np.ndarray, side: int = BASE_SIDE) -> np.ndarray:
    """The photo at most ``side`` px as high-passed log-intensity (float32): what a relief's slopes change."""
    cv2 = opencv()
    img, _s = at_most(np.ascontiguousarray(rgb, dtype=np.uint8), side)
    g = np.log(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) + RELIEF_DARK)
    return g - cv2.GaussianBlur(g, (0, 0), RELIEF_FLAT * side / BASE_SIDE)


def relief_image(rgb: np.ndarray, *, side: int = BASE_SIDE, theta: float | None = None) -> np.ndarray:
    """The photo (at most ``side`` px) as the height of what is pressed into or raised from it, recovered from
    its shading under the light axis ``theta`` (radians; ``light_axis`` of the photo when None): a grey RGB image
    (uint8, its 1st-99th percentile stretched to 0-255) in which an embossed mark is a flat shape."""
    g = shading(rgb, side)
    t = light_axis(g) if theta is None else theta
    hh, ww = g.shape
    ky = (np.fft.fftfreq(hh) * 2 * np.pi)[:, None]
    kx = (np.fft.fftfreq(ww) * 2 * np.pi)[None, :]
    kl = kx * np.cos(t) + ky * np.sin(t)
    lam = RELIEF_LAMBDA * (BASE_SIDE / side) ** 2  # the same heights across, in the photo, at any side
    taper = np.outer(np.hanning(hh), np.hanning(ww)) ** 0.25  # no wrap-around edge where the FFT joins the sides
    height = np.real(np.fft.ifft2(np.fft.fft2(g * taper) * (-1j * kl) / (kl * kl + lam)))
    lo, hi = np.percentile(height, (1, 99))
    grey = np.clip((height - lo) / max(float(hi - lo), RELIEF_SPREAD) * 255, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
