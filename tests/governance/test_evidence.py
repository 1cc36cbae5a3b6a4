import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from governance import evidence
from governance.models import Attachment


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg(*, size=(640, 480), taken="2026:11:20 09:30:00", gps=(30.5, 114.25)) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[36867] = taken  # DateTimeOriginal
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update({
            1: "N", 2: (int(lat), int(lat * 60 % 60), 0.0), 3: "E", 4: (int(lon), int(lon * 60 % 60), 0.0),
        })
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def upload(name, content):
    return SimpleUploadedFile(name, content)


def test_a_photo_is_accepted_with_thumbnail_and_exif(county):
    inspected = evidence.inspect_upload(upload("现场.JPG", jpeg()))
    assert (inspected.kind, inspected.mime_type) == ("image", "image/jpeg")
    assert inspected.taken_at == timezone.make_aware(datetime.datetime(2026, 11, 20, 9, 30))
    assert inspected.latitude == Decimal("30.500000") and inspected.longitude == Decimal("114.250000")
    with Image.open(io.BytesIO(inspected.thumbnail)) as thumb:
        assert max(thumb.size) <= 320

    [attachment] = evidence.store(county.louxing, [inspected])
    assert attachment.file.name.endswith(".jpg") and "现场" not in attachment.file.name
    assert attachment.thumbnail and attachment.size == len(inspected.content)
    assert list(evidence.attachments_of(county.louxing)) == [attachment]


def test_type_comes_from_content_not_name(county):
    pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    inspected = evidence.inspect_upload(upload("photo.jpg", pdf))
    assert (inspected.kind, inspected.extension) == ("document", ".pdf")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("photo.jpg", b"<script>alert(1)</script>", "文件类型不受支持"),
        ("invoice.pdf.exe", b"MZ\x90\x00" + b"\x00" * 100, "文件类型不受支持"),
        ("broken.jpg", jpeg()[:300], "已损坏"),
        ("empty.png", b"", "空文件"),
        ("archive.docx", b"PK\x03\x04not a zip at all", "文件类型不受支持"),
    ],
)
def test_disguised_corrupt_or_empty_files_are_refused(name, content, message):
    with pytest.raises(evidence.EvidenceRejected, match=message):
        evidence.inspect_upload(upload(name, content))


def test_a_zip_that_is_not_an_office_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("payload.js", "evil()")
    with pytest.raises(evidence.EvidenceRejected, match="文件类型不受支持"):
        evidence.inspect_upload(upload("a.docx", buffer.getvalue()))


def test_oversized_files_are_refused(settings):
    settings.EVIDENCE_MAX_IMAGE_BYTES = 1000
    with pytest.raises(evidence.EvidenceRejected, match="超过照片大小上限"):
        evidence.inspect_upload(upload("big.jpg", jpeg()))


def test_decompression_bomb_is_refused(settings):
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG")  # 81 Mpx in a few kilobytes
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(evidence.EvidenceRejected, match="像素数过大"):
        evidence.inspect_upload(upload("bomb.png", buffer.getvalue()))


def test_malformed_exif_does_not_reject_the_photo():
    inspected = evidence.inspect_upload(upload("a.jpg", jpeg(taken="not a date", gps=None)))
    assert inspected.kind == "image" and inspected.taken_at is None


def test_path_tricks_in_names_are_stripped():
    assert evidence.safe_name("../../etc/passwd") == "passwd"
    assert evidence.safe_name("C:\\Users\\a\\照片\u0000.jpg") == "照片.jpg"


def test_one_bad_file_stores_none(db):
    with pytest.raises(evidence.EvidenceRejected):
        evidence.inspect_uploads([upload("ok.jpg", jpeg()), upload("bad.jpg", b"nope")])
    assert Attachment.objects.count() == 0


def test_too_many_files_are_refused(settings):
    settings.EVIDENCE_MAX_FILES = 1
    with pytest.raises(evidence.EvidenceRejected, match="最多上传 1 个"):
        evidence.inspect_uploads([upload("a.jpg", jpeg()), upload("b.jpg", jpeg())])


def test_warnings_when_exif_disagrees_with_the_report(county):
    [attachment] = evidence.store(county.louxing, [evidence.inspect_upload(upload("a.jpg", jpeg()))])
    reported = timezone.make_aware(datetime.datetime(2026, 11, 23, 9, 30))
    warnings = evidence.disagreement_warnings(attachment, occurred_at=reported, latitude=31.5, longitude=114.25)
    assert any("相差约 72 小时" in w for w in warnings)
    assert any("公里" in w for w in warnings)
    close = evidence.disagreement_warnings(
        attachment, occurred_at=attachment.taken_at, latitude=Decimal("30.5"), longitude=Decimal("114.25")
    )
    assert close == []
