"""Finding regions by their path of names, as commands and imports address them."""

from __future__ import annotations

from .models import PATH_SEPARATOR, Region


class RegionNotFound(LookupError):
    pass


def normalise_path(text: str) -> str:
    parts = [part.strip() for part in (text or "").replace("\\", PATH_SEPARATOR).split(PATH_SEPARATOR)]
    return PATH_SEPARATOR.join(part for part in parts if part)


def find_region(path_text: str) -> Region:
    """The region at a path of names: from the root (`某县/太平镇/楼星村`) or below it (`太平镇/楼星村`)."""
    path = normalise_path(path_text)
    if not path:
        raise RegionNotFound("区域路径为空。")
    region = Region.objects.select_related("tier").filter(full_path=path).first()
    if region is not None:
        return region
    candidates = list(
        Region.objects.select_related("tier").filter(full_path__endswith=PATH_SEPARATOR + path, depth=path.count(PATH_SEPARATOR) + 2)
    )
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise RegionNotFound(f"区域路径“{path}”不唯一，请写出从县开始的完整路径。")
    raise RegionNotFound(f"找不到区域“{path}”。")
