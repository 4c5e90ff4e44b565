"""The sky at infinity: the photo's own sky where the photo saw it, carried round the horizon at
the elevations it saw, and its colour gradient above and below."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.base import Sky
from bridge.generate.photo.analysis import PhotoAnalysis
from bridge.render.sky import panorama_directions, panorama_pixel
from bridge.world.camera import Camera

PANORAMA_HEIGHT = 1024  # rows; the panorama is twice as wide (equirectangular)
FEATHER_PX = 24.0  # the photo's sky fades into the gradient over this many working pixels
MIN_SOURCE_PX = 150  # a patch of sky smaller than this (after erosion) fills nothing around it
FILL_REACH_PX = 64.0  # the fill trusts the sky within this many pixels, fading out over as many more
AROUND_FADE_PX = 96.0  # above and below the photo's frame, its sky carried round fades into the gradient over this many
# Dark marks in the sky narrower than this (rigging, wires, a mast or spire's tip, birds) belong to
# the photo's own view: carried round the horizon they would stand in the sky everywhere.
THIN_MARK_PX = 9
# Above and below the frame its edge rows go up blurred along themselves: the blur's sigma, and
# how far out from the frame it has fully set in.
EDGE_BLUR_PX = 24.0
MARK_CONTRAST = 0.07  # how much darker than the sky closed over it a pixel must be to be such a mark


def _elevation_deg(directions: np.ndarray) -> np.ndarray:
    return np.degrees(np.arcsin(np.clip(directions[..., 1], -1.0, 1.0)))


def _gradient(analysis: PhotoAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """(elevations in degrees, ascending; mean sky colour at each) sampled from the photo's sky rows."""
    rays = analysis.camera.pixel_rays()
    elevation = _elevation_deg(rays)
    sky = analysis.sky
    rows = np.flatnonzero(sky.sum(axis=1) >= 4)
    if rows.size < 3:
        # No usable sky: a pale haze from the photo's brightest tenth, brighter upwards.
        bright = analysis.image.reshape(-1, 3)
        luminance = bright.mean(axis=1)
        haze = bright[luminance >= np.percentile(luminance, 90)].mean(axis=0)
        return np.array([-90.0, 0.0, 90.0]), np.stack([haze * 0.9, haze, np.clip(haze * 0.85 + 0.1, 0, 1)])
    elevations = np.array([elevation[r][sky[r]].mean() for r in rows])
    colours = np.stack([analysis.image[r][sky[r]].mean(axis=0) for r in rows])
    order = np.argsort(elevations)
    return elevations[order], colours[order]


def _filled_sky_image(
    analysis: PhotoAnalysis, gradient_at_pixels: np.ndarray, unseen: np.ndarray | None = None
) -> np.ndarray:
    """The photo's sky, with what stands in front of it filled in from the sky around it: a
    push-pull fill (the sky's colours averaged over ever coarser blocks, then carried back down
    where nothing was seen), smooth in every direction, so a tower's or a castle's place in the
    sky shows no streaks when the sky is seen from elsewhere. Edge pixels next to buildings carry
    their colour, so they are not used. A photo with no sky gets the gradient. Sky pixels marked
    ``unseen`` are filled like what stands (see _carried_sky)."""
    sky = analysis.sky if unseen is None else analysis.sky & ~unseen
    seen = ndimage.binary_erosion(sky, iterations=2)
    source = _trusted(seen)
    if not source.any():
        return gradient_at_pixels.astype(np.float32)
    image = analysis.image.astype(np.float32)
    # Far from any sky seen, the fill is a guess: there it fades into the gradient.
    reach = ndimage.distance_transform_edt(~source)
    trust = np.clip(2.0 - reach / FILL_REACH_PX, 0.0, 1.0)[..., None]
    filled = _push_pull(image, source) * trust + gradient_at_pixels * (1.0 - trust)
    filled[sky] = image[sky]  # the sky pixels the erosion left out are still sky
    smooth = ndimage.gaussian_filter(filled, sigma=(3.0, 3.0, 0.0))
    return np.where(seen[..., None], image, smooth).astype(np.float32)


def _trusted(seen: np.ndarray) -> np.ndarray:
    """The sky pixels a fill may read: those in patches large enough to trust."""
    # A few sky pixels alone (a mask's stray bit in a roof's corner) would colour a wide fill.
    labels, count = ndimage.label(seen)
    sizes = ndimage.sum_labels(seen, labels, np.arange(1, count + 1))
    return seen & np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_SOURCE_PX))


def _carried_sky(analysis: PhotoAnalysis, gradient_at_pixels: np.ndarray) -> np.ndarray:
    """The photo's sky as it is carried round the horizon: filled, and its thin dark marks filled
    too, as if something stood there (a ship's rigging carried round stood in the sky at every
    heading; a roof's corner seen through a speck of sky hung from it)."""
    image = analysis.image.astype(np.float32)
    luminance = image.mean(axis=2)
    closed = ndimage.grey_closing(luminance, size=(THIN_MARK_PX, THIN_MARK_PX))
    marks = ndimage.binary_dilation((closed - luminance > MARK_CONTRAST) & analysis.sky, iterations=2)
    # Specks of sky too small to trust (a roof's corner between eaves) are marks too.
    marks |= analysis.sky & ~_trusted(analysis.sky)
    return _filled_sky_image(analysis, gradient_at_pixels, unseen=marks)


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """[h, w, 3] ``image`` where ``known``, elsewhere the known colours' mean over the smallest
    pyramid block that holds some, blended up level by level (bilinear), so fills are smooth."""
    weight = known.astype(np.float32)
    levels = [(image * weight[..., None], weight)]
    # Down to one block if need be: the coarsest level must hold some sky in every block.
    while max(levels[-1][1].shape) > 1 and not (levels[-1][1] > 0).all():
        colour, weight = levels[-1]
        h, w = weight.shape
        pad = ((0, h % 2), (0, w % 2))
        colour = np.pad(colour, (*pad, (0, 0)))
        weight = np.pad(weight, pad)
        colour = colour[0::2, 0::2] + colour[1::2, 0::2] + colour[0::2, 1::2] + colour[1::2, 1::2]
        weight = weight[0::2, 0::2] + weight[1::2, 0::2] + weight[0::2, 1::2] + weight[1::2, 1::2]
        levels.append((colour, weight))
    colour, weight = levels[-1]
    filled = colour / np.maximum(weight, 1e-12)[..., None]
    for colour, weight in reversed(levels[:-1]):
        h, w = weight.shape
        up = ndimage.zoom(filled, (2.0, 2.0, 1.0), order=1, mode="nearest", grid_mode=True)[:h, :w]
        seen = np.minimum(weight, 1.0)[..., None]
        filled = colour / np.maximum(weight, 1e-12)[..., None] * seen + up * (1.0 - seen)
    return filled.astype(np.float32)


def build_sky(analysis: PhotoAnalysis) -> Sky:
    elevations, colours = _gradient(analysis)

    def gradient(elev: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(elev, elevations, colours[:, k]) for k in range(3)], axis=-1)

    camera = analysis.camera
    at_pixels = gradient(_elevation_deg(camera.pixel_rays()))
    photo_sky = _filled_sky_image(analysis, at_pixels)
    height, width = PANORAMA_HEIGHT, 2 * PANORAMA_HEIGHT
    # Away from the photo's band of elevations the panorama is the gradient, which depends on the
    # row alone. In that band the photo's sky goes on all round (see _around); only the window the
    # photo itself (and its feather) can reach is blended with the photo's own sky.
    row_colour = gradient(_elevation_deg(panorama_directions(height, cols=slice(0, 1))[:, 0]))
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = _to_8bit(row_colour)[:, None]
    band = _around_rows(camera, height)
    around = None
    if band.stop > band.start and analysis.sky.any():
        flat = np.broadcast_to(row_colour[band, None], (band.stop - band.start, width, 3))
        around = _around(camera, _carried_sky(analysis, at_pixels), flat, panorama_directions(height, band))
        image[band] = _to_8bit(around)
    rows, cols = _photo_window(camera, height, width)
    if rows.stop > rows.start and cols.stop > cols.start:
        # The window's background (float, before rounding): the gradient, and the sky carried round.
        background = np.repeat(row_colour[rows, None], cols.stop - cols.start, axis=1)
        if around is not None:
            top, bottom = max(rows.start, band.start), min(rows.stop, band.stop)
            if bottom > top:
                background[top - rows.start : bottom - rows.start] = around[
                    top - band.start : bottom - band.start, cols
                ]
        directions = panorama_directions(height, rows, cols)
        image[rows, cols] = _blend_photo(camera, photo_sky, background, directions)
    return Sky(panorama=image)


def _copies(camera: Camera) -> tuple[float, float, int]:
    """(the photo's central azimuth, its half-width in azimuth at the horizon, both in radians;
    how many mirrored copies of it go round the horizon: an even number, so they close up)."""
    forward = camera.forward
    centre = float(np.arctan2(forward[0], -forward[2]))
    k = camera.intrinsics
    half = float(np.arctan2(k.width / 2.0, k.fx))
    count = max(2, 2 * round(np.pi / (2.0 * half)))
    return centre, half, count


def _around_rows(camera: Camera, height: int) -> slice:
    """Rows of the panorama at the elevations the photo's frame spans (with AROUND_FADE_PX)."""
    k = camera.intrinsics
    # The frame's top and bottom edges (moved out by the fade) bow in elevation when the camera
    # is pitched: sampled densely, with a few rows to spare.
    u = np.linspace(-k.width, 2.0 * k.width, 97)  # copies reach the frame's edge columns stretched
    v = np.array([-AROUND_FADE_PX, k.height / 2.0, k.height + AROUND_FADE_PX])
    uu, vv = np.meshgrid(u, v)
    rows, _ = panorama_pixel(camera.rays_through(uu.ravel(), vv.ravel()), height)
    row0, row1 = int(np.floor(rows.min())) - 4, int(np.ceil(rows.max())) + 5
    # A pole inside the faded frame's rows (a camera looking steeply up or down): whole rows to it.
    for pole_row in _poles_within(camera, height, (-np.inf, np.inf, -AROUND_FADE_PX, k.height + AROUND_FADE_PX)):
        row0, row1 = min(row0, pole_row), max(row1, pole_row)
    return slice(max(row0, 0), min(row1, height))


def _poles_within(camera: Camera, height: int, box: tuple[float, float, float, float]) -> list[int]:
    """The panorama rows (0 for the zenith, ``height`` for the nadir) of the poles the camera
    sees inside ``box`` (u0, u1, v0, v1) in its pixels."""
    u0, u1, v0, v1 = box
    uv, depth = camera.project(np.array([[0.0, 1e6, 0.0], [0.0, -1e6, 0.0]]) + camera.position)
    return [
        row for (u, v), d, row in zip(uv, depth, (0, height), strict=True) if d > 0 and u0 <= u <= u1 and v0 <= v <= v1
    ]


def _around(camera: Camera, photo_sky: np.ndarray, gradient: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """[rows, cols, 3] the photo's sky (filled) carried all round the horizon as mirrored copies
    side by side, each one the photo's width in azimuth (stretched a little so an even number
    close up), at the elevations the photo saw; fading into ``gradient`` above and below its frame.
    Clouds go on when the viewer turns round, rather than a plain gradient."""
    centre, half, count = _copies(camera)
    span = 2.0 * np.pi / count
    azimuth = np.arctan2(directions[..., 0], -directions[..., 2]) - centre
    elevation = np.arcsin(np.clip(directions[..., 1], -1.0, 1.0))
    copy = np.floor((azimuth + span / 2.0) / span)
    local = azimuth - copy * span  # in [-span / 2, span / 2)
    local = np.where(np.mod(copy, 2) == 1, -local, local) * (half / (span / 2.0)) + centre
    turned = np.stack([np.sin(local) * np.cos(elevation), np.sin(elevation), -np.cos(local) * np.cos(elevation)], -1)
    uv, depth = camera.project(turned.reshape(-1, 3) * 1e6 + camera.position)
    k = camera.intrinsics
    u, v = uv[:, 0], uv[:, 1]
    outside = np.maximum(0, -v) + np.maximum(0, v - k.height)
    weight = np.where(depth > 0, np.clip(1.0 - outside / AROUND_FADE_PX, 0.0, 1.0), 0.0)
    # Above and below the frame the sample is its edge row's, clamped: drawn up over the fade, each
    # of that row's dark specks became a streak hanging in the sky. It turns into the row blurred
    # along itself first, so only the row's broad colours go up.
    beyond = np.clip(outside / EDGE_BLUR_PX, 0.0, 1.0)[:, None]
    blurred = ndimage.gaussian_filter1d(photo_sky, EDGE_BLUR_PX, axis=1, mode="nearest")
    samples = _sample(photo_sky, u, v) * (1.0 - beyond) + _sample(blurred, u, v) * beyond
    flat = gradient.reshape(-1, 3)
    return (flat * (1.0 - weight[:, None]) + samples * weight[:, None]).reshape(gradient.shape)


def _photo_window(camera: Camera, height: int, width: int) -> tuple[slice, slice]:
    """Rows and columns of the panorama holding every direction within FEATHER_PX of the photo's
    frame: the bounding box of that region's outline (its extremes in azimuth and elevation lie
    on the outline unless it holds a pole or straddles the +-180 degree seam: then whole rows)."""
    k = camera.intrinsics
    margin = FEATHER_PX + 2.0
    u0, u1, v0, v1 = -margin, k.width + margin, -margin, k.height + margin
    along_u = np.arange(u0, u1 + 1.0)
    along_v = np.arange(v0, v1 + 1.0)
    u = np.concatenate([along_u, along_u, np.full(along_v.size, u0), np.full(along_v.size, u1)])
    v = np.concatenate([np.full(along_u.size, v0), np.full(along_u.size, v1), along_v, along_v])
    rays = camera.rays_through(u, v)
    row_of, col_of = panorama_pixel(rays, height)
    row0, row1 = int(np.floor(row_of.min())) - 2, int(np.ceil(row_of.max())) + 3
    col0, col1 = int(np.floor(col_of.min())) - 2, int(np.ceil(col_of.max())) + 3
    for pole_row in _poles_within(camera, height, (u0, u1, v0, v1)):
        row0, row1 = min(row0, pole_row), max(row1, pole_row)
        col0, col1 = 0, width
    if np.ptp(col_of) > width / 2:  # the outline crosses the seam behind the spawn
        col0, col1 = 0, width
    return slice(max(row0, 0), min(row1, height)), slice(max(col0, 0), min(col1, width))


def _blend_photo(camera: Camera, photo_sky: np.ndarray, background: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The panorama's pixels in one window: the photo's sky inside the frame, fading into the
    ``background`` (the sky carried round, the gradient) outside it over FEATHER_PX."""
    uv, depth = camera.project(directions.reshape(-1, 3) * 1e6 + camera.position)
    k = camera.intrinsics
    u, v = uv[:, 0], uv[:, 1]
    in_front = depth > 0
    # Inside the photo's frame the panorama is the photo's sky exactly; outside, the edge of the
    # photo fades into the background over FEATHER_PX, so turning away shows no hard rectangle.
    outside = np.hypot(np.maximum(0, -u) + np.maximum(0, u - k.width), np.maximum(0, -v) + np.maximum(0, v - k.height))
    weight = np.where(in_front, np.clip(1.0 - outside / FEATHER_PX, 0.0, 1.0), 0.0)
    near = weight > 0
    samples = np.zeros((u.size, 3))
    samples[near] = _sample(photo_sky, u[near], v[near])
    flat = background.reshape(-1, 3)
    flat = flat * (1.0 - weight[:, None]) + samples * weight[:, None]
    return _to_8bit(flat.reshape(background.shape))


def _sample(photo_sky: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[n, 3] bilinear samples of the (filled) photo sky at pixel coordinates (u, v), clamped to its frame."""
    h, w = photo_sky.shape[:2]
    coords = np.stack([np.clip(v - 0.5, 0, h - 1), np.clip(u - 0.5, 0, w - 1)])
    return np.stack([ndimage.map_coordinates(photo_sky[..., c], coords, order=1) for c in range(3)], axis=1)


def _to_8bit(colours: np.ndarray) -> np.ndarray:
    return np.clip(np.round(colours * 255.0), 0, 255).astype(np.uint8)
