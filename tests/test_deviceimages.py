"""DeviceInfo.DeviceImageFile from [cpe] device_images: real sessions with
the in-repo ACS, images written as real PNG, JPEG and GIF files, the table
checked against TR-181."""

import base64
import logging
import struct
import zlib

from rocket.datamodel import deviceimages
from rocket.devacs import build_rpc, parse_values
from test_tr181_validity import assert_valid, needs_bbf, served_tree

T = "Device.DeviceInfo.DeviceImageFile."


def png(w, h, rgb):
    """A real PNG: signature, IHDR, one IDAT, IEND, each chunk with its CRC."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    rows = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")  # 1x1, one colour


def test_parse_rules():
    rows, errors = deviceimages.parse("front=/a.png BACK=/b.jpg Left=rel.png Front=/c.png Side=/d.png x /e.gif")
    assert rows == [(1, "Front", "/a.png"), (2, "Back", "/b.jpg")]
    assert len(errors) == 5  # relative, repeated, unknown location, no '=', no '='
    assert deviceimages.parse("") == ([], [])


def test_table_served_from_real_files(acs, make_agent, tmp_path, caplog):
    d = tmp_path / "img"
    d.mkdir()
    (d / "front.png").write_bytes(png(40, 30, (200, 30, 30)))
    (d / "top.gif").write_bytes(GIF)
    (d / "right.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300) + b"\xff\xd9")
    (d / "back.txt").write_text("not an image")
    (d / "left.png").write_bytes(png(600, 600, (1, 2, 3))[:8] + bytes(deviceimages.MAX_BYTES))
    spec = " ".join(["Front=%s" % (d / "front.png"), "back=%s" % (d / "back.txt"), "Top=%s" % (d / "top.gif"),
                     "Bottom=%s" % (d / "gone.png"), "LEFT=%s" % (d / "left.png"), "Right=%s" % (d / "right.jpg"),
                     "Front=%s" % (d / "top.gif")])
    acs.queue = [build_rpc("GetParameterValues", [T, "Device.DeviceInfo.DeviceImageNumberOfEntries"])]
    with caplog.at_level(logging.ERROR, logger="rocket"):
        agent = make_agent(acs.url, cpe={"device_images": spec})
        (d / "front.png").write_bytes(png(8, 8, (0, 0, 255)))  # replaced after the start: read when asked
        assert agent.run() == 0
    v = parse_values(acs.sessions[-1].answers[0][1])
    # the position in the key is the instance number; refused entries leave theirs unused
    assert v["Device.DeviceInfo.DeviceImageNumberOfEntries"] == "3"
    assert sorted(k for k in v if k.endswith(".Location")) == [T + "1.Location", T + "3.Location", T + "6.Location"]
    assert (v[T + "1.Location"], v[T + "3.Location"], v[T + "6.Location"]) == ("Front", "Top", "Right")
    assert v[T + "6.Alias"] == "cpe-right"
    assert base64.b64decode(v[T + "1.Image"]) == (d / "front.png").read_bytes() == png(8, 8, (0, 0, 255))
    assert base64.b64decode(v[T + "3.Image"]) == GIF
    assert base64.b64decode(v[T + "6.Image"]) == (d / "right.jpg").read_bytes()
    why = [r.getMessage() for r in caplog.records if "device_images" in r.getMessage()]
    assert len(why) == 4, why  # back.txt, gone.png, left.png, the second Front
    assert any("not a PNG, JPEG or GIF" in w for w in why) and any("more than" in w for w in why)
    assert any("named twice" in w for w in why)
    # a file that disappears is served empty, and said once
    (d / "top.gif").unlink()
    assert agent.model.value(T + "3.Image") == ""


@needs_bbf
def test_table_is_valid_tr181(acs, make_agent, tmp_path):
    (tmp_path / "f.png").write_bytes(png(4, 4, (9, 9, 9)))
    (tmp_path / "b.gif").write_bytes(GIF)
    tree = served_tree(acs, make_agent, cpe={"device_images": "Front=%s Back=%s" % (tmp_path / "f.png",
                                                                                      tmp_path / "b.gif")})
    assert_valid(tree)
    assert tree[T + "2.Image"][:2] == (False, "xsd:base64")
    assert tree["Device.DeviceInfo.DeviceImageNumberOfEntries"][2] == "2"


def test_no_pictures_an_empty_table(acs, make_agent):
    acs.queue = [build_rpc("GetParameterNames", [T, "0"]),
                 build_rpc("GetParameterValues", ["Device.DeviceInfo.DeviceImageNumberOfEntries"])]
    assert make_agent(acs.url).run() == 0
    names, values = [a[1] for a in acs.sessions[-1].answers]
    assert names.count(b"<Name>") == 1 and b"<Name>%s</Name>" % T.encode() in names
    assert parse_values(values) == {"Device.DeviceInfo.DeviceImageNumberOfEntries": "0"}


def test_tr098_root_ignores_the_key(acs, make_agent, tmp_path):
    (tmp_path / "f.png").write_bytes(png(4, 4, (9, 9, 9)))
    acs.queue = [build_rpc("GetParameterNames", ["InternetGatewayDevice.DeviceInfo.", "1"])]
    agent = make_agent(acs.url, cpe={"data_model": "InternetGatewayDevice",
                                     "device_images": "Front=%s" % (tmp_path / "f.png")})
    assert agent.run() == 0
    assert b"DeviceImage" not in acs.sessions[-1].answers[0][1]
