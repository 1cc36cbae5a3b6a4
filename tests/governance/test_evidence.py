import datetime
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from governance import evidence
from governance.models import Attachment

pytestmark = pytest.mark.usefixtures("media_in_tmp")


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


# ---------------------------------------------------------------- bad input


def office_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_real_docx_is_accepted():
    content = office_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document>" + "正文".encode() * 50})
    assert evidence.inspect_upload(upload("材料.docx", content)).extension == ".docx"


def test_a_zip_bomb_disguised_as_a_spreadsheet_is_refused():
    content = office_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                          "xl/sharedStrings.xml": b"\x00" * (50 * 1024 * 1024)})  # 50 MB of zeros in ~50 KB
    assert len(content) < 200_000
    with pytest.raises(evidence.EvidenceRejected, match="解压后过大"):
        evidence.inspect_upload(upload("台账.xlsx", content))


def test_an_office_file_with_path_tricks_inside_is_refused():
    content = office_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "../../evil.sh": b"x"})
    with pytest.raises(evidence.EvidenceRejected, match="文件类型不受支持"):
        evidence.inspect_upload(upload("a.docx", content))


def test_the_pixel_limit_follows_the_setting_at_run_time(settings):
    settings.EVIDENCE_MAX_IMAGE_PIXELS = 100 * 100
    with pytest.raises(evidence.EvidenceRejected, match="像素数过大"):
        evidence.inspect_upload(upload("big.jpg", jpeg(size=(200, 100))))
    assert evidence.inspect_upload(upload("small.jpg", jpeg(size=(100, 100)))).kind == "image"


def jpeg_with_app1(payload: bytes) -> bytes:
    """A valid JPEG whose EXIF segment (APP1) holds `payload` after the Exif header."""
    plain = jpeg(taken=None, gps=None)
    segment = b"Exif\x00\x00" + payload
    return plain[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + plain[2:]


@pytest.mark.parametrize("payload", [
    b"",  # an empty EXIF block
    b"II*\x00\xff\xff\xff\x7f",  # the first IFD offset points far past the end
    b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x63\x00\x00\x00\x00\x00\x00",  # orientation 99
    b"II*\x00\x08\x00\x00\x00\x01\x00\x25\x88\x04\x00\x01\x00\x00\x00\xff\xff\x00\x00",  # GPS IFD nowhere
    b"garbage that is no TIFF header at all",
])
def test_malformed_exif_is_read_as_absent_and_the_photo_kept(payload):
    inspected = evidence.inspect_upload(upload("手机.jpg", jpeg_with_app1(payload)))
    assert inspected.kind == "image" and inspected.thumbnail
    assert inspected.latitude is None and inspected.longitude is None


def test_gps_with_zero_denominators_is_ignored():
    image = Image.new("RGB", (32, 32))
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 0.0, 0.0), 3: "E", 4: (114.0, 0.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    from PIL import TiffImagePlugin

    bad = Image.Exif()
    bad.get_ifd(0x8825).update({1: "N", 2: (TiffImagePlugin.IFDRational(30, 0),) * 3, 3: "E",
                                4: (TiffImagePlugin.IFDRational(1, 0),) * 3})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=bad)
    inspected = evidence.inspect_upload(upload("gps.jpg", buffer.getvalue()))
    assert inspected.kind == "image" and inspected.latitude is None


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("..\\..\\windows\\system32\\a.jpg", "a.jpg"),
    ("照片\x00.php.jpg", "照片.php.jpg"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a right-to-left override cannot disguise the extension
    ("CON.jpg", "_CON.jpg"),
    ("lpt1", "_lpt1"),
    ("..", "未命名文件"),
    ("/", "未命名文件"),
])
def test_path_tricks_in_names_become_display_text(name, shown):
    assert evidence.safe_name(name) == shown


def test_a_very_long_name_keeps_its_extension():
    shown = evidence.safe_name("很" * 500 + ".jpeg")
    assert len(shown) == 200 and shown.endswith(".jpeg")


def test_a_tricky_name_is_never_the_stored_path(county):
    [attachment] = evidence.store(county.louxing, [evidence.inspect_upload(upload("../../../etc/cron.d/x.jpg", jpeg()))])
    assert attachment.original_name == "x.jpg"
    stored = attachment.file.name
    assert stored.startswith("evidence/") and ".." not in stored and "x" not in stored.rsplit("/", 1)[1].split(".")[0]
    assert Path(attachment.file.path).resolve().is_relative_to(Path(attachment.file.storage.location).resolve())


def test_files_are_served_only_through_the_access_checked_view(county, personas, client, settings):
    # Owned by a region: whoever may view 楼星村 may see it (any record type works the same way).
    [attachment] = evidence.store(county.louxing, [evidence.inspect_upload(upload("a.jpg", jpeg()))])
    media_url = "/" + settings.MEDIA_URL.lstrip("/") + attachment.file.name
    client.force_login(personas["village_cadre"])  # may see 楼星村
    assert client.get(f"/evidence/{attachment.pk}/").status_code == 200
    assert client.get(media_url).status_code == 404  # no public, guessable URL
    client.force_login(personas["outsider"])
    assert client.get(f"/evidence/{attachment.pk}/").status_code == 404
    assert client.get(media_url).status_code == 404
    client.logout()
    assert client.get(f"/evidence/{attachment.pk}/").status_code == 302


def test_the_download_is_private_and_not_sniffable(county, personas, client):
    [attachment] = evidence.store(county.louxing, [evidence.inspect_upload(upload("现场 照片.jpg", jpeg()))])
    client.force_login(personas["village_cadre"])
    response = client.get(f"/evidence/{attachment.pk}/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/jpeg" and "private" in response["Cache-Control"]
    assert "filename*=UTF-8''%E7%8E%B0" in response["Content-Disposition"]


def test_an_oversized_upload_request_is_refused_before_it_is_read(client, personas, settings):
    settings.EVIDENCE_MAX_REQUEST_BYTES = 1024
    client.force_login(personas["grid_member"])
    response = client.post("/grid/events/new/", {"files": [upload("big.jpg", b"\xff\xd8\xff" + b"0" * 5000)]})
    assert response.status_code == 413
    assert "超过单次提交上限" in response.content.decode()
