"""Live Photos: the still + MOV pair iOS Photos shows as one, and Android Motion Photos.

Written and read with our own TIFF and QuickTime box code, from the documented layouts.
"""

from liveai.livephoto.inspect import LivePhotoReport, inspect
from liveai.livephoto.motion import make_motion_photo
from liveai.livephoto.pair import LivePhotoPair, make_pair

__all__ = ["LivePhotoPair", "LivePhotoReport", "inspect", "make_motion_photo", "make_pair"]
