"""An inner tensor of an ONNX model made one of its outputs, by editing the serialized model.

An ONNX model is a protobuf ``ModelProto`` whose field 7 is the graph; a graph's outputs are its
repeated field 12, each a ``ValueInfoProto`` (name, type). Protobuf allows a repeated field's
entries anywhere in a message, so appending one to the graph's bytes adds an output, and only
the graph's length prefix changes. Done so rather than with the ``onnx`` package: parsing and
re-serializing the 92 MB Kokoro model took 0.93 s on 2 cores, against a few hundredths here,
in every process that loads the model.
"""

from __future__ import annotations

_GRAPH = 7  # ModelProto.graph
_OUTPUT = 12  # GraphProto.output
_LENGTH_DELIMITED = 2
_FLOAT = 1  # TensorProto.FLOAT


def with_output(model: bytes, name: str) -> bytes | None:
    """``model`` with tensor ``name`` (float) as one more graph output; None when ``model`` is
    not a protobuf with a graph.

    >>> graph = _field(1, b"g")  # a "graph" holding only a name
    >>> edited = with_output(_field(_GRAPH, graph), "t")
    >>> edited == _field(_GRAPH, graph + _field(_OUTPUT, _value_info("t")))
    True
    """
    view = memoryview(model)
    position = 0
    try:
        while position < len(model):
            start = position
            tag, position = _varint(model, position)
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                _, position = _varint(model, position)
            elif wire == 1:
                position += 8
            elif wire == 5:
                position += 4
            elif wire == _LENGTH_DELIMITED:
                length, begins = _varint(model, position)
                position = begins + length
                if field == _GRAPH and position <= len(model):
                    added = _field(_OUTPUT, _value_info(name))
                    return b"".join(
                        [
                            view[:start],
                            _key(_GRAPH, _LENGTH_DELIMITED),
                            _encode_varint(length + len(added)),
                            view[begins:position],
                            added,
                            view[position:],
                        ]
                    )
            else:
                return None
    except IndexError:
        return None
    return None


def _value_info(name: str) -> bytes:
    """A ValueInfoProto: the name, and a tensor type of float elements with no shape."""
    tensor = _key(1, 0) + _encode_varint(_FLOAT)  # TypeProto.Tensor.elem_type
    kind = _field(1, tensor)  # TypeProto.tensor_type
    return _field(1, name.encode("utf-8")) + _field(2, kind)


def _field(number: int, payload: bytes) -> bytes:
    return _key(number, _LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload


def _key(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position
