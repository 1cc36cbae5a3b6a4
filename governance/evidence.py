"""Evidence uploads: the one place files enter the system.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import hashlib
import io
import math
import os
import unicodedata
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .models import Attachment

Image.MAX_IMAGE_PIXELS = getattr(settings, "EVIDENCE_MAX_IMAGE_PIXELS", 40_000_000)

IMAGE_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"qt  ", b"M4V ", b"3gp4", b"3gp5", b"3g2a", b"MSNV"}
THUMBNAIL_SIZE = (320, 320)
_SNIFF_BYTES = 64


class EvidenceRejected(ValidationError):
    """A file that cannot be accepted as evidence; the message is for the user, in Chinese."""


@dataclass
class InspectedFile:
    name: str
    kind: str
    mime_type: str
    extension: str
    content: bytes
    taken_at: datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    thumbnail: bytes | None = None


def limits() -> dict[str, int]:
    return {
        Attachment.Kind.IMAGE: settings.EVIDENCE_MAX_IMAGE_BYTES,
        Attachment.Kind.VIDEO: settings.EVIDENCE_MAX_VIDEO_BYTES,
        Attachment.Kind.DOCUMENT: settings.EVIDENCE_MAX_DOCUMENT_BYTES,
    }


# Device names Windows will not save a file under (CON.jpg is CON), shown with a leading underscore.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_MAX_NAME = 200


def safe_name(name: str) -> str:
    """The file's own name for display and downloads only: no directory part, no control or format
    characters (NUL, bidi overrides), no Windows device name, at most 200 characters with the
    extension kept. Files are stored under a generated name, never this one."""
    base = os.path.basename((name or "").replace("\\", "/").replace("\x00", ""))
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip(" .") or "未命名文件"
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        base = "_" + base
    if len(base) > _MAX_NAME:
        extension = extension[:20]
        base = (stem[: _MAX_NAME - len(extension) - 1] + "." + extension) if extension else base[:_MAX_NAME]
    return base


def _human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{math.ceil(size / 1024)} KB"


def _sniff(head: bytes, content: bytes) -> tuple[str, str, str] | None:
    """(kind, mime type, extension) from the first bytes, or None when the type is not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return Attachment.Kind.IMAGE, "image/jpeg", ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Attachment.Kind.IMAGE, "image/png", ".png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Attachment.Kind.IMAGE, "image/webp", ".webp"
    if head[4:8] == b"ftyp" and head[8:12] in VIDEO_BRANDS:
        return Attachment.Kind.VIDEO, ("video/quicktime" if head[8:12] == b"qt  " else "video/mp4"), ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Attachment.Kind.VIDEO, "video/webm", ".webm"
    if head.startswith(b"%PDF-"):
        return Attachment.Kind.DOCUMENT, "application/pdf", ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_office(content)
    return None


class _ZipBomb(Exception):
    pass


def _sniff_office(content: bytes) -> tuple[str, str, str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names:
        return None
    # Office files are zip archives: refuse ones that would inflate far beyond their size when opened
    # (a decompression bomb), and ones with path tricks inside.
    unpacked = sum(entry.file_size for entry in entries)
    most = getattr(settings, "EVIDENCE_MAX_UNZIPPED_BYTES", 200 * 1024 * 1024)
    ratio = getattr(settings, "EVIDENCE_MAX_ZIP_RATIO", 200)
    if len(entries) > 10_000 or unpacked > most or unpacked > max(len(content), 1) * ratio:
        raise _ZipBomb
    if any(name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") for name in names):
        return None
    if "word/document.xml" in names:
        return Attachment.Kind.DOCUMENT, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
    if "xl/workbook.xml" in names:
        return Attachment.Kind.DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"
    return None


def _rational(value) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] / value[1]
    return float(value)


def _gps_coordinate(values, ref) -> Decimal | None:
    degrees, minutes, seconds = (_rational(v) for v in values)
    result = degrees + minutes / 60 + seconds / 3600
    if ref in ("S", "W", b"S", b"W"):
        result = -result
    return Decimal(f"{result:.6f}")


def _read_exif(image: Image.Image) -> tuple[datetime | None, Decimal | None, Decimal | None]:
    """EXIF capture time (read as China time when it carries no zone) and GPS; malformed EXIF reads as absent."""
    taken_at = latitude = longitude = None
    try:
        exif = image.getexif()
        detail = exif.get_ifd(ExifTags.IFD.Exif)
        stamp = detail.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        if stamp:
            naive = datetime.strptime(str(stamp).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
            taken_at = timezone.make_aware(naive, timezone.get_default_timezone())
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps.get(ExifTags.GPS.GPSLatitude) and gps.get(ExifTags.GPS.GPSLongitude):
            latitude = _gps_coordinate(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef))
            longitude = _gps_coordinate(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef))
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                latitude = longitude = None
    except Exception:  # EXIF written by phones and editors is often broken; the photo itself is still evidence
        return taken_at, None, None
    return taken_at, latitude, longitude


def _inspect_image(inspected: InspectedFile) -> None:
    name = inspected.name
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x the pixel limit; treat that as a bomb too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _decode_image(inspected)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EvidenceRejected(f"“{name}”的像素数过大，疑似恶意文件，已拒收。") from exc
    except EvidenceRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise EvidenceRejected(f"“{name}”已损坏或不是真正的图片，无法读取。") from exc


def _decode_image(inspected: InspectedFile) -> None:
    with Image.open(io.BytesIO(inspected.content)) as probe:
        if probe.format not in IMAGE_FORMATS:
            raise EvidenceRejected(f"“{inspected.name}”不是可接受的图片格式。")
        width, height = probe.size
        # The header alone says how large the decoded picture would be: refuse before decoding it.
        if width * height * getattr(probe, "n_frames", 1) > settings.EVIDENCE_MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(f"{width}x{height}")
        probe.verify()
    with Image.open(io.BytesIO(inspected.content)) as image:
        inspected.taken_at, inspected.latitude, inspected.longitude = _read_exif(image)
        image.load()
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception:  # a broken orientation tag: the picture itself is fine, show it as stored
            upright = image
        thumb = upright.convert("RGB")
        thumb.thumbnail(THUMBNAIL_SIZE)
        buffer = io.BytesIO()
        thumb.save(buffer, "JPEG", quality=80)
        inspected.thumbnail = buffer.getvalue()


def inspect_upload(upload) -> InspectedFile:
    """Check one uploaded file (a Django UploadedFile or any file object with .name) and read it."""
    name = safe_name(getattr(upload, "name", ""))
    size = getattr(upload, "size", None)
    largest = max(limits().values())
    if size is not None and size > largest:
        raise EvidenceRejected(f"“{name}”大小为 {_human_size(size)}，超过上限 {_human_size(largest)}。")
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(largest + 1)
    if not content:
        raise EvidenceRejected(f"“{name}”是空文件。")
    try:
        sniffed = _sniff(content[:_SNIFF_BYTES], content)
    except _ZipBomb:
        raise EvidenceRejected(f"“{name}”解压后过大，疑似恶意压缩文件，已拒收。") from None
    if sniffed is None:
        raise EvidenceRejected(f"“{name}”的文件类型不受支持（仅接受 JPEG/PNG/WebP 照片、MP4/MOV/WebM 视频、PDF/DOCX/XLSX 文档），或文件内容与扩展名不符。")
    kind, mime_type, extension = sniffed
    limit = limits()[kind]
    if len(content) > limit:
        raise EvidenceRejected(f"“{name}”超过{Attachment.Kind(kind).label}大小上限 {_human_size(limit)}。")
    inspected = InspectedFile(name=name, kind=kind, mime_type=mime_type, extension=extension, content=content)
    if kind == Attachment.Kind.IMAGE:
        _inspect_image(inspected)
    return inspected


def inspect_uploads(uploads) -> list[InspectedFile]:
    """Check every file before any is stored, so that one bad file stores none."""
    uploads = list(uploads or [])
    if len(uploads) > settings.EVIDENCE_MAX_FILES:
        raise EvidenceRejected(f"一次最多上传 {settings.EVIDENCE_MAX_FILES} 个附件。")
    return [inspect_upload(upload) for upload in uploads]


def store(owner: models.Model, inspected_files: list[InspectedFile], *, by=None) -> list[Attachment]:
    """Save checked files as attachments of `owner`. Call inside the owner's transaction."""
    owner_type = ContentType.objects.get_for_model(owner)
    saved: list[Attachment] = []
    try:
        for item in inspected_files:
            stem = uuid.uuid4().hex
            attachment = Attachment(
                owner_type=owner_type, owner_id=owner.pk, kind=item.kind, original_name=item.name,
                mime_type=item.mime_type, size=len(item.content), sha256=hashlib.sha256(item.content).hexdigest(),
                taken_at=item.taken_at, latitude=item.latitude, longitude=item.longitude,
                uploaded_by=by if getattr(by, "pk", None) else None,
            )
            attachment.file.save(stem + item.extension, ContentFile(item.content), save=False)
            if item.thumbnail:
                attachment.thumbnail.save(stem + ".jpg", ContentFile(item.thumbnail), save=False)
            attachment.save()
            saved.append(attachment)
    except Exception:
        for attachment in saved:  # the transaction rolls the rows back; the files are ours to remove
            attachment.file.delete(save=False)
            if attachment.thumbnail:
                attachment.thumbnail.delete(save=False)
        raise
    return saved


def attachments_of(owner: models.Model):
    return Attachment.objects.filter(owner_type=ContentType.objects.get_for_model(owner), owner_id=owner.pk)


def attachment_response(attachment: Attachment, *, thumbnail: bool = False):
    """The file (or its thumbnail, when there is one) as a private, inline download.

    Callers decide first who may see it: the record's own access rule."""
    use_thumbnail = bool(thumbnail and attachment.thumbnail)
    stored = attachment.thumbnail if use_thumbnail else attachment.file
    response = FileResponse(stored.open("rb"), content_type="image/jpeg" if use_thumbnail else attachment.mime_type)
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(attachment.original_name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _distance_km(lat1, lon1, lat2, lon2) -> float:
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (lat1, lon1, lat2, lon2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def disagreement_warnings(
    attachment: Attachment, *, occurred_at: datetime | None, latitude=None, longitude=None,
    max_hours: float = 24, max_km: float = 1.0,
) -> list[str]:
    """Warnings when a photo's EXIF time or place disagrees with what the report says."""
    warnings = []
    if attachment.taken_at and occurred_at:
        hours = abs((attachment.taken_at - occurred_at).total_seconds()) / 3600
        if hours > max_hours:
            warnings.append(
                f"照片“{attachment.original_name}”的拍摄时间 {timezone.localtime(attachment.taken_at):%Y-%m-%d %H:%M} "
                f"与上报的发生时间相差约 {hours:.0f} 小时。"
            )
    if attachment.latitude is not None and latitude is not None and longitude is not None:
        km = _distance_km(attachment.latitude, attachment.longitude, latitude, longitude)
        if km > max_km:
            warnings.append(f"照片“{attachment.original_name}”的拍摄位置距上报位置约 {km:.1f} 公里。")
    return warnings


class UploadSizeLimitMiddleware:
    """Refuse an upload request larger than EVIDENCE_MAX_REQUEST_BYTES before Django reads it into
    temporary files (413, in Chinese): the per-file limits above only apply once it has been read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = getattr(settings, "EVIDENCE_MAX_REQUEST_BYTES", 0)
        if limit and request.method in ("POST", "PUT", "PATCH"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return HttpResponse(
                    f"上传内容共 {_human_size(length)}，超过单次提交上限 {_human_size(limit)}，未保存任何内容。"
                    "请减少或压缩附件后重新提交。",
                    status=413, content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)
