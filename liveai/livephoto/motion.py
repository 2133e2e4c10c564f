"""Google Motion Photo 1.0: a JPEG with Camera/Container XMP, the video appended after it."""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

from liveai.errors import InvalidInput
from liveai.livephoto.boxes import copy_range
from liveai.livephoto.files import staged
from liveai.livephoto.movread import read_movie
from liveai.livephoto.movwrite import check_video
from liveai.livephoto.still import crop_to_aspect, frame_at, load_still

_NAME = re.compile(r"^[^\s/\\][^/\\]*MP\.(jpg|JPG|jpeg|JPEG)$")
_XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/\x00"
_QUALITY = 90
_PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
   xmlns:Container="http://ns.google.com/photos/1.0/container/"
   xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
   GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"
   GCamera:MotionPhotoPresentationTimestampUs="{timestamp_us}">
  <Container:Directory><rdf:Seq>
   <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg"
     Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/></rdf:li>
   <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="{mime}"
     Item:Semantic="MotionPhoto" Item:Length="{length}"/></rdf:li>
  </rdf:Seq></Container:Directory>
 </rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def make_motion_photo(
    video: Path, still: Path | None, out: Path, *, still_time: float = 0.0
) -> Path:
    """Write `out` (`NAME.MP.jpg`): the still as JPEG, then the video's bytes unchanged."""
    if not _NAME.match(out.name):
        raise InvalidInput(
            f"{out.name!r} is not a Motion Photo name", hint="end it in .MP.jpg, e.g. shot.MP.jpg"
        )
    if out.is_dir():
        raise InvalidInput(f"--out {out} is a folder", hint="pass a file name ending in .MP.jpg")
    if not out.parent.is_dir():
        raise InvalidInput(f"no folder {out.parent}", hint="create it first")
    movie = read_movie(video)
    track = check_video(movie)
    if not 0 <= still_time < movie.duration_s:
        raise InvalidInput(f"the still time {still_time:g} s is outside the video")
    image = load_still(still) if still is not None else frame_at(video, still_time)
    image = crop_to_aspect(image, *track.shown_size())
    mime = "video/quicktime" if movie.brand == b"qt  " else "video/mp4"
    packet = _PACKET.format(
        timestamp_us=round(still_time * 1_000_000), mime=mime, length=movie.size
    ).encode("utf-8")
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=_QUALITY)
    with staged([out]) as (target,), video.open("rb") as source:
        target.write(_with_xmp(jpeg.getvalue(), packet))
        copy_range(source, target, 0, movie.size)
    return out


def _with_xmp(jpeg: bytes, packet: bytes) -> bytes:
    """Insert the XMP APP1 segment right after SOI (and Pillow's JFIF APP0, if any)."""
    segment = _XMP_NAMESPACE + packet
    app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    at = 2
    if jpeg[2:4] == b"\xff\xe0":
        at += 2 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:at] + app1 + jpeg[at:]
