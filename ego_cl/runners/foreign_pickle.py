"""Loading checkpoints whose pickles name classes we do not have, without running their code.

A Lightning checkpoint saved by the original EgoAdapt code pickles its hyper-parameters as
objects of the original package (``continual_ego4d...`` config classes), which a user of ego_cl
does not have installed; Ego4D's own checkpoints pickle an fvcore/yacs config node. Only the
tensors matter. :func:`load_with_stand_ins` reads such a file with a restricted unpickler:

- globals that ``torch.load(weights_only=True)`` allows (tensor rebuild functions, storages,
  dtypes, ``OrderedDict`` ...) resolve to the real objects;
- every other global (any class or function, importable or not) becomes a :class:`StandIn`
  subclass named after it. Calling it (``REDUCE``/``NEWOBJ``) only records the arguments,
  ``BUILD`` records the state, ``SETITEMS``/``APPENDS`` fill it like a dict or list.

Nothing named in the file is imported or called, so loading executes no code from the file:
the result is plain containers, tensors and inert stand-ins (listed by :func:`stand_ins_in`).
"""

from __future__ import annotations

import _compat_pickle
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch

__all__ = ["StandIn", "load_with_stand_ins", "stand_ins_in"]


class StandIn(dict):
    """An object of a class that was not loaded: what the pickle said about it.

    Subclasses are made per pickled global (``module``/``qualname`` class attributes). A dict
    subclass, so that pickled dict subclasses (config nodes) keep their items.

    Attributes:
        args: Positional arguments the pickle called the class (or function) with.
        kwargs: Keyword arguments (``NEWOBJ_EX``).
        state: What ``BUILD`` set (``__dict__`` / ``__setstate__`` argument), or ``None``.
        items_: Elements appended by ``APPENDS`` (pickled list subclasses).
    """

    module: ClassVar[str] = ""
    qualname: ClassVar[str] = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        obj = super().__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items_ = args, kwargs, None, []
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # arguments are kept, never interpreted
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, item: Any) -> None:
        """``APPENDS`` of a pickled list subclass."""
        self.items_.append(item)

    def extend(self, items: Any) -> None:
        """``APPENDS`` of a pickled list subclass."""
        self.items_.extend(items)

    def __repr__(self) -> str:
        return f"<stand-in for {self.module}.{self.qualname}>"

    def __reduce__(self) -> Any:
        raise pickle.PicklingError(f"{self!r} cannot be pickled again (convert its tensors instead)")


def _allowed_globals() -> dict[str, Any]:
    """What ``torch.load(weights_only=True)`` resolves (its allow-list plus registered safe globals)."""
    from torch import _weights_only_unpickler as wo  # private: the one definition of the allow-list

    allowed = dict(wo._get_allowed_globals())
    for entry in torch.serialization.get_safe_globals():  # obj, or (obj, "module.name")
        obj, name = entry if isinstance(entry, tuple) else (entry, f"{entry.__module__}.{entry.__qualname__}")
        allowed[name] = obj
    return allowed


class _StandInUnpickler(pickle.Unpickler):
    """``find_class`` that never imports: allowed globals, or a stand-in class."""

    made: ClassVar[dict[str, type[StandIn]]] = {}  # inert classes, shared by every load

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = _allowed_globals()  # per load: safe globals registered since are honoured

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names of protocols 0-2
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = f"{module}.{name}"
        if key in self.allowed:
            return self.allowed[key]
        if key not in _StandInUnpickler.made:
            _StandInUnpickler.made[key] = type(
                f"StandIn_{name.replace('.', '_')}", (StandIn,), {"module": module, "qualname": name}
            )
        return _StandInUnpickler.made[key]


class _PickleModule:
    """The ``pickle_module`` handed to ``torch.load``: our unpickler, plain ``load``."""

    __name__ = "ego_cl.runners.foreign_pickle"
    Unpickler = _StandInUnpickler

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return _StandInUnpickler(file, **kwargs).load()


def load_with_stand_ins(path: str | Path) -> Any:
    """Read a torch checkpoint (zip or legacy) onto the CPU with stand-ins for every foreign global.

    Raises:
        Whatever ``torch.load`` raises on a damaged file (the caller names the file).
    """
    return torch.load(Path(path), map_location="cpu", pickle_module=_PickleModule, weights_only=False)


def stand_ins_in(obj: Any) -> dict[str, int]:
    """``{"module.qualname": count}`` of the stand-ins anywhere inside ``obj`` (what was not loaded)."""
    counts: dict[str, int] = {}
    for item in _walk(obj, set()):
        if isinstance(item, StandIn):
            name = f"{item.module}.{item.qualname}"
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _walk(obj: Any, seen: set[int]) -> Iterator[Any]:
    if id(obj) in seen or isinstance(obj, torch.Tensor | str | bytes | int | float):
        return
    seen.add(id(obj))
    yield obj
    children: list[Any] = []
    if isinstance(obj, dict):
        children += [*obj.keys(), *obj.values()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children += list(obj)
    if isinstance(obj, StandIn):
        children += [obj.args, obj.kwargs, obj.state, obj.items_]
    for child in children:
        yield from _walk(child, seen)
