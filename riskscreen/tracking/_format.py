"""A saved screener that runs no code when it is loaded.

A fitted :class:`~riskscreen.Screener` is written as a zip of two members:
``state.json`` (the object tree: numbers, text, lists, mappings, and objects as
their class name plus attributes) and ``arrays.npz`` (numpy arrays, tables as
Parquet bytes, LightGBM models as their text dump). Loading parses JSON and
reads arrays with ``allow_pickle=False``; an object is rebuilt only when its class
is on an allow list -- riskscreen's own classes, scikit-learn's, LightGBM's
classifier -- by creating it without calling its constructor and setting its
attributes, so a tampered file can change numbers but can never run code.

Integrity is checked with an HMAC-SHA256 of the bytes under a key the authority
holds (:func:`sign`), or against a sha256 the caller kept (:func:`verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import io
import json
import zipfile

import numpy as np
import pandas as pd

FORMAT = "riskscreen.saved-object/1"
#: Modules whose classes may be rebuilt on load (with their submodules).
ALLOWED_MODULES = ("riskscreen.", "sklearn.")
#: Further classes that may be rebuilt, by "module:qualname".
ALLOWED_CLASSES = frozenset(
    {
        "lightgbm.sklearn:LGBMClassifier",
        "scipy.interpolate._bsplines:BSpline",
        "scipy.interpolate._interpolate:interp1d",
    }
)


class UnsafeObjectError(ValueError):
    """An object cannot be saved in the code-free format (e.g. it holds a function)."""


class ArtifactIntegrityError(ValueError):
    """A saved screener was changed, is not signed by the key given, or is not one at all."""


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _allowed(name: str) -> bool:
    module = name.split(":", 1)[0] + "."
    return name in ALLOWED_CLASSES or module.startswith(ALLOWED_MODULES)


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def blob(self, array: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def encode(self, obj, path: str):  # noqa: C901 - one branch per supported type
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return value if np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, list):
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, (set, frozenset)):
            items = sorted(obj, key=repr)
            return {"__set__": [self.encode(v, path) for v in items], "frozen": _frozen(obj)}
        if isinstance(obj, dict):
            return {
                "__map__": [
                    [self.encode(k, path), self.encode(v, f"{path}[{k!r}]")] for k, v in obj.items()
                ]
            }
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind == "O":
                return {"__objects__": self.encode(obj.tolist(), path), "shape": list(obj.shape)}
            return {"__array__": self.blob(obj)}
        if isinstance(obj, (pd.DataFrame, pd.Series)):
            frame = obj.to_frame("__series__") if isinstance(obj, pd.Series) else obj
            buffer = io.BytesIO()
            frame.to_parquet(buffer, engine="pyarrow")
            key = self.blob(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
            return {"__table__": key, "series": isinstance(obj, pd.Series)}
        if isinstance(obj, pd.Timestamp):
            return {"__timestamp__": obj.isoformat()}
        if type(obj).__module__.startswith("lightgbm") and type(obj).__name__ == "Booster":
            return {"__booster__": obj.model_to_string()}
        name = _class_name(type(obj))
        if not _allowed(name) or not hasattr(obj, "__dict__"):
            raise UnsafeObjectError(
                f"Cannot save {path} ({name}) in riskscreen's code-free format: only "
                "riskscreen, scikit-learn and LightGBM objects, numbers, text and tables can "
                "be saved (a function or a class of another library cannot)."
            )
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else vars(obj)
        state = {} if state is None else state
        if not isinstance(state, dict):
            raise UnsafeObjectError(f"Cannot save {path} ({name}): its state is not a mapping.")
        return {"__object__": name, "state": self.encode(dict(state), f"{path}.")}


def _frozen(obj) -> bool:
    return isinstance(obj, frozenset)


class _Reader:
    def __init__(self, arrays) -> None:
        self.arrays = arrays

    def decode(self, node):  # noqa: C901 - one branch per supported type
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise ArtifactIntegrityError(
                f"Unexpected entry in a saved object: {type(node).__name__}."
            )
        if "__float__" in node:
            return float(node["__float__"])
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__set__" in node:
            items = [self.decode(v) for v in node["__set__"]]
            return frozenset(items) if node.get("frozen") else set(items)
        if "__map__" in node:
            return {self.decode(k): self.decode(v) for k, v in node["__map__"]}
        if "__objects__" in node:
            array = np.empty(len(node["__objects__"]), dtype=object)
            array[:] = self.decode(node["__objects__"])
            return array.reshape(node["shape"])
        if "__array__" in node:
            return self.arrays[node["__array__"]]
        if "__table__" in node:
            frame = pd.read_parquet(io.BytesIO(self.arrays[node["__table__"]].tobytes()))
            return frame["__series__"] if node.get("series") else frame
        if "__timestamp__" in node:
            return pd.Timestamp(node["__timestamp__"])
        if "__booster__" in node:
            import lightgbm

            return lightgbm.Booster(model_str=node["__booster__"])
        if "__object__" in node:
            name = str(node["__object__"])
            if not _allowed(name):
                raise ArtifactIntegrityError(
                    f"The saved object names class {name!r}, which is not on the list of "
                    "classes riskscreen rebuilds; refusing to load it."
                )
            module, _, qualname = name.partition(":")
            cls = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
            if not isinstance(cls, type):
                raise ArtifactIntegrityError(f"{name!r} is not a class; refusing to load it.")
            obj = cls.__new__(cls)
            state = self.decode(node["state"])
            if hasattr(cls, "__setstate__"):
                obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
            return obj
        raise ArtifactIntegrityError(f"Unknown entry in a saved object: {sorted(node)[:3]}.")


def dumps(obj) -> bytes:
    """``obj`` in the code-free format (see the module docstring)."""
    writer = _Writer()
    tree = {"format": FORMAT, "object": writer.encode(obj, "object")}
    arrays = io.BytesIO()
    np.savez(arrays, **writer.arrays)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("state.json", json.dumps(tree))
        zf.writestr("arrays.npz", arrays.getvalue())
    return out.getvalue()


def loads(payload: bytes):
    """The object saved by :func:`dumps`; nothing in ``payload`` is executed."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            tree = json.loads(zf.read("state.json"))
            arrays = dict(np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ArtifactIntegrityError(
            f"Not a riskscreen saved object ({type(exc).__name__}); refusing to load it."
        ) from None
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise ArtifactIntegrityError("Not a riskscreen saved object (unknown format); refusing it.")
    try:
        return _Reader(arrays).decode(tree.get("object"))
    except ArtifactIntegrityError:
        raise
    except (KeyError, AttributeError, ImportError, TypeError, ValueError) as exc:
        raise ArtifactIntegrityError(
            f"The saved object is malformed ({type(exc).__name__}); refusing to load it."
        ) from None


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sign(payload: bytes, key: str | bytes) -> str:
    """HMAC-SHA256 of ``payload`` under ``key`` (hex)."""
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def verify(payload: bytes, *, key=None, signature=None, expected_sha256=None) -> None:
    """Raise unless ``payload`` matches the caller's sha256 or its HMAC under ``key``."""
    if expected_sha256 is not None:
        if not hmac.compare_digest(sha256(payload), str(expected_sha256)):
            raise ArtifactIntegrityError(
                "The saved screener's sha256 differs from the one you passed: the file has "
                "changed. Refusing to load it."
            )
        return
    if key is None:
        raise ArtifactIntegrityError(
            "Cannot check the saved screener: pass key= (the signing key used with track, "
            "or set RISKSCREEN_SIGNING_KEY) or sha256= (from TrackedRun.sha256)."
        )
    if signature is None or not hmac.compare_digest(sign(payload, key), str(signature)):
        raise ArtifactIntegrityError(
            "The saved screener's signature does not match the signing key: the file was "
            "changed or signed with another key. Refusing to load it."
        )
