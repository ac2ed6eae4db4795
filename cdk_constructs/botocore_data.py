"""botocore's data files (service models, endpoints, partitions), parsed once per process.

botocore reads its JSON through a ``Loader``, and a loader caches what it parsed for itself
only. The sagemaker SDK makes new ones all the time: a session per helper when it builds a
training pipeline's definition (the pipeline session, local sessions, role resolution,
resources), and a fresh ``botocore.loaders.create_loader()`` in every ``image_uris.retrieve``
(``common_utils._botocore_resolver``, for the region's ECR domain). A cold `cdk synth` of the
default config created 32 clients and parsed botocore's files 373 times: 3.2 of its 4.6 s of
definition building (cProfile, ``botocore.loaders._load_file``). Inside :func:`shared_loaders`
every loader botocore or the SDK asks for is the process's one for that search path, so each
file is parsed once per process. A loader returns what botocore would have parsed (same files,
same search path), and none of them is modified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.loaders
import botocore.session

_create_loader = botocore.loaders.create_loader
_LOADERS: dict[str | None, botocore.loaders.Loader] = {}


def loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """The process's loader for ``search_path_string`` (botocore's ``data_path`` setting, None
    for its defaults), made by botocore's own ``create_loader`` the first time."""
    found = _LOADERS.get(search_path_string)
    if found is None:
        found = _LOADERS[search_path_string] = _create_loader(search_path_string)
    return found


def session() -> botocore.session.Session:
    """A new botocore session reading through the process's loader."""
    new = botocore.session.get_session()
    new.register_component("data_loader", loader(new.get_config_variable("data_path")))
    return new


@contextmanager
def shared_loaders() -> Iterator[None]:
    """Every loader made inside is the process's one: ``botocore.loaders.create_loader`` (the
    SDK calls it) and the name ``botocore.session`` imported it under, which a session calls
    when it first asks for its data loader."""
    originals = (botocore.loaders.create_loader, botocore.session.create_loader)
    botocore.loaders.create_loader = botocore.session.create_loader = loader
    try:
        yield
    finally:
        botocore.loaders.create_loader, botocore.session.create_loader = originals
