"""The streamed answer path: soap.envelope encodes its parts one by one,
model.get_values of one subtree needs no duplicate check."""

from rocket.cwmp import soap
from rocket.datamodel.model import DataModel
from rocket.datamodel.store import Param


def test_envelope_is_the_encoding_of_its_parts():
    parts = ["<cwmp:X>", "é ü \u20ac", "<a>&amp;</a>", "</cwmp:X>"]
    body = soap.envelope("urn:dslforum-org:cwmp-1-2", "id-1", iter(parts))
    text = bytes(body).decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "".join(parts) in text
    assert text.endswith(soap.ENVELOPE_TAIL)
    assert soap.parse(bytes(body)).id == "id-1"


def test_get_values_one_subtree_and_overlapping_names():
    m = DataModel("Device.")
    m.store.add_object("Device.")
    for i in range(5):
        m.store.add("Device.T.%d.P" % i, Param(str(i)))
    one = m.get_values(["Device.T."])
    assert [p for p, _, _ in one] == ["Device.T.%d.P" % i for i in range(5)]
    both = m.get_values(["Device.T.", "Device.T.1.P", "Device.T.1."])
    assert [p for p, _, _ in both] == [p for p, _, _ in one]  # no path twice
