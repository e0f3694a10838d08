"""Synthetic but real test scenes: real people cut out of real footage, pasted into the real
empty room along a scripted timeline, encoded as H.264 a live reader accepts, with the alerts a
correct analysis must raise. `custodywatch scenes OUT_DIR` writes them all.
"""
from custodywatch.scenes.catalog import SCENES, ScenePaths, build_scene, write_all, write_scene
from custodywatch.scenes.compose import Activity, Actor, Keyframe, Renderer, Timeline
from custodywatch.scenes.cutouts import Cutout, load_cutouts
from custodywatch.scenes.encode import encode_h264
from custodywatch.scenes.staging import Scene
from custodywatch.scenes.truth import CustodyRecord, TruthAlert

__all__ = [
    "SCENES",
    "Activity",
    "Actor",
    "CustodyRecord",
    "Cutout",
    "Keyframe",
    "Renderer",
    "Scene",
    "ScenePaths",
    "Timeline",
    "TruthAlert",
    "build_scene",
    "encode_h264",
    "load_cutouts",
    "write_all",
    "write_scene",
]
