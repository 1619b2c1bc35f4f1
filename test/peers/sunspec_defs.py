"""SunSpec model definitions, point codec and layout for GridMesh's independent peers.

Written from the SunSpec JSON definitions (core/devices/sunspec/models/model_N.json, copied
unchanged from sunspec/models) and the rules in shared/reference/sunspec/README.md. It reads
those JSON files as data and never imports or reads GridMesh TypeScript, so the peers built on
it judge our code instead of repeating it.

Layout rules: a group is its points in order, then its nested groups in order; a nested group
repeats `count` times (a number, the name of a point in the same group or at model level, or 0 =
as many as fit in the model length; missing = 1). Scale factors are looked up by name in the same
group instance first, then at model level. "Not implemented" sentinels decode to None.
"""

import json
import math
import os
import struct
from decimal import Decimal

MODELS_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'core', 'devices', 'sunspec', 'models')
)

# registers per type; string (and anything sized by the file) uses the point's own `size`
TYPE_SIZES = {
    'int16': 1, 'uint16': 1, 'acc16': 1, 'enum16': 1, 'bitfield16': 1, 'sunssf': 1, 'count': 1, 'pad': 1,
    'int32': 2, 'uint32': 2, 'acc32': 2, 'enum32': 2, 'bitfield32': 2, 'float32': 2, 'ipaddr': 2,
    'int64': 4, 'uint64': 4, 'acc64': 4, 'float64': 4, 'eui48': 4, 'ipv6addr': 8,
}

SIGNED = {'int16': 16, 'sunssf': 16, 'int32': 32, 'int64': 64}
UNSIGNED = {
    'uint16': 16, 'acc16': 16, 'enum16': 16, 'bitfield16': 16, 'count': 16, 'pad': 16,
    'uint32': 32, 'acc32': 32, 'enum32': 32, 'bitfield32': 32, 'ipaddr': 32,
    'uint64': 64, 'acc64': 64, 'eui48': 64, 'ipv6addr': 128,
}

# raw unsigned integer that means "not implemented", per pysunspec2's sunspec2/mb.py
NOT_IMPLEMENTED = {
    'int16': 0x8000, 'sunssf': 0x8000,
    'uint16': 0xFFFF, 'enum16': 0xFFFF, 'bitfield16': 0xFFFF,
    'acc16': 0, 'acc32': 0, 'acc64': 0,
    'int32': 0x80000000,
    'uint32': 0xFFFFFFFF, 'enum32': 0xFFFFFFFF, 'bitfield32': 0xFFFFFFFF,
    'int64': 0x8000000000000000, 'uint64': 0xFFFFFFFFFFFFFFFF,
    'ipaddr': 0, 'ipv6addr': 0, 'eui48': 0xFFFFFFFFFFFF,
}

_cache = {}


class SunSpecError(Exception):
    pass


def load_model(model_id, models_dir=None):
    """The parsed JSON definition of model `model_id`, or None when there is no file for it."""
    directory = models_dir or MODELS_DIR
    key = (directory, model_id)
    if key not in _cache:
        path = os.path.join(directory, f'model_{model_id}.json')
        if not os.path.exists(path):
            _cache[key] = None
        else:
            with open(path, encoding='utf-8') as f:
                _cache[key] = json.load(f)
    return _cache[key]


def point_size(point):
    if point['type'] == 'string':
        return int(point['size'])
    size = TYPE_SIZES.get(point['type'])
    if size is None:
        raise SunSpecError(f"point {point['name']}: unknown type {point['type']}")
    return size


def _to_int(words):
    value = 0
    for w in words:
        value = (value << 16) | (w & 0xFFFF)
    return value


def _to_words(value, n):
    return [(value >> (16 * (n - 1 - i))) & 0xFFFF for i in range(n)]


def decode_raw(ptype, words):
    """Raw value of one point (int, float or str), or None for the "not implemented" sentinel."""
    if ptype == 'string':
        data = b''.join(struct.pack('>H', w) for w in words)
        if all(b == 0 for b in data):
            return None
        return data.split(b'\x00', 1)[0].decode('utf-8', errors='replace').rstrip(' ')
    if ptype == 'pad':
        return None
    if ptype in ('float32', 'float64'):
        fmt = '>f' if ptype == 'float32' else '>d'
        value = struct.unpack(fmt, b''.join(struct.pack('>H', w) for w in words))[0]
        return None if math.isnan(value) else value
    unsigned = _to_int(words)
    if NOT_IMPLEMENTED.get(ptype) == unsigned:
        return None
    if ptype in SIGNED:
        bits = SIGNED[ptype]
        return unsigned - (1 << bits) if unsigned & (1 << (bits - 1)) else unsigned
    if ptype in UNSIGNED:
        return unsigned
    raise SunSpecError(f'unknown point type {ptype}')


def encode_raw(ptype, value, size):
    """Registers for one raw value; None encodes the type's "not implemented" sentinel."""
    if ptype == 'string':
        data = b'' if value is None else str(value).encode('utf-8')
        if len(data) > size * 2:
            raise SunSpecError(f'string {value!r} is longer than {size * 2} bytes')
        data = data.ljust(size * 2, b'\x00')
        return [struct.unpack('>H', data[i:i + 2])[0] for i in range(0, len(data), 2)]
    if ptype in ('float32', 'float64'):
        fmt = '>f' if ptype == 'float32' else '>d'
        data = struct.pack(fmt, float('nan') if value is None else float(value))
        if value is None and ptype == 'float32':
            data = struct.pack('>I', 0x7FC00000)
        return [struct.unpack('>H', data[i:i + 2])[0] for i in range(0, len(data), 2)]
    if value is None:
        return _to_words(NOT_IMPLEMENTED.get(ptype, 0), size)
    value = int(value)
    if ptype in SIGNED:
        bits = SIGNED[ptype]
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise SunSpecError(f'{value} does not fit {ptype}')
        return _to_words(value & ((1 << bits) - 1), size)
    bits = UNSIGNED.get(ptype)
    if bits is None:
        raise SunSpecError(f'unknown point type {ptype}')
    if not 0 <= value < (1 << bits):
        raise SunSpecError(f'{value} does not fit {ptype}')
    return _to_words(value, size)


def scale(raw, sf):
    """raw x 10^sf as an exact decimal turned into int (sf >= 0) or float."""
    if raw is None or sf is None:
        return None
    if isinstance(raw, (str, float)):
        return raw
    if sf >= 0:
        return raw * 10 ** sf
    return float(Decimal(raw).scaleb(sf))


def unscale(value, sf):
    """Engineering value -> raw integer for scale factor sf (rounded half away from zero)."""
    if value is None:
        return None
    scaled = Decimal(str(value)).scaleb(-(sf or 0))
    return int(scaled.to_integral_value(rounding='ROUND_HALF_UP'))


def group_fixed_size(group):
    """Registers of one instance of a group whose nested groups have numeric counts."""
    total = sum(point_size(p) for p in group.get('points', []))
    for sub in group.get('groups', []):
        count = sub.get('count', 1)
        if not isinstance(count, int) or count == 0:
            raise SunSpecError(f"group {sub['name']}: variable count inside a repeating group")
        total += count * group_fixed_size(sub)
    return total


class Node:
    """One group instance laid out over a model's registers."""

    def __init__(self, name, definition, parent):
        self.name = name
        self.definition = definition
        self.parent = parent
        self.points = {}  # name -> dict(def, offset, raw)
        self.groups = {}  # name -> [Node]


def layout(definition, regs, warnings=None):
    """Lay a model out over `regs` (the model's registers, starting with ID and L).

    Returns the top Node; each point entry has offset (from the ID register), size and raw.
    Points past the end of `regs` are left out and reported in `warnings`.
    """
    if warnings is None:
        warnings = []
    top_def = definition['group']
    limit = len(regs)

    def place(gdef, offset, parent, index_name):
        node = Node(index_name, gdef, parent)
        for p in gdef.get('points', []):
            size = point_size(p)
            if 'size' in p and p['type'] != 'string' and int(p['size']) != size:
                warnings.append(f"{index_name}.{p['name']}: file says size {p['size']}, type {p['type']} is {size}")
            if offset + size > limit:
                warnings.append(f"{index_name}.{p['name']} (offset {offset}) lies past the model length")
                return node, limit
            node.points[p['name']] = {'def': p, 'offset': offset, 'size': size,
                                      'raw': decode_raw(p['type'], regs[offset:offset + size])}
            offset += size
        for sub in gdef.get('groups', []):
            count = sub.get('count', 1)
            if isinstance(count, str):
                root = node
                while root.parent is not None:
                    root = root.parent
                entry = node.points.get(count) or root.points.get(count)
                value = entry['raw'] if entry else None
                if value is None:
                    warnings.append(f"{index_name}.{sub['name']}: count point {count} is missing or not implemented")
                    value = 0
                count = value
            elif count == 0:
                size = group_fixed_size(sub)
                count = max(0, (limit - offset) // size) if size else 0
            instances = []
            for i in range(count):
                child, offset = place(sub, offset, node, f"{index_name}.{sub['name']}[{i}]")
                instances.append(child)
            node.groups[sub['name']] = instances
        return node, offset

    top, end = place(top_def, 0, None, top_def['name'])
    if end != limit:
        warnings.append(f"{top_def['name']}: laid out {end} registers but the device's model has {limit}")
    return top


def scale_factor(node, top, sf):
    """Scale factor exponent for a point's `sf` field: a number, or a point name (group, then model)."""
    if sf is None:
        return 0
    if isinstance(sf, int):
        return sf
    for scope in (node, top):
        if sf in scope.points:
            return scope.points[sf]['raw']
    return None


def node_to_json(node, top, include_raw=False, base_address=0):
    points = {}
    for name, entry in node.points.items():
        p = entry['def']
        if p['type'] == 'pad':
            continue
        sf = scale_factor(node, top, p.get('sf')) if 'sf' in p else 0
        value = scale(entry['raw'], sf) if 'sf' in p else entry['raw']
        if include_raw:
            points[name] = {'value': value, 'raw': entry['raw'], 'sf': sf if 'sf' in p else None,
                            'type': p['type'], 'address': base_address + entry['offset'],
                            'mandatory': p.get('mandatory') == 'M'}
        else:
            points[name] = value
    out = {'points': points}
    if node.groups:
        out['groups'] = {name: [node_to_json(child, top, include_raw, base_address) for child in children]
                         for name, children in node.groups.items()}
    return out


def find_point(top, path):
    """(node, entry) for a path like `WSet`, `PFWInj.PF` or `Prt[1].DCW` (0-based index)."""
    node = top
    parts = path.split('.')
    for part in parts[:-1]:
        name, index = part, 0
        if part.endswith(']') and '[' in part:
            name, index = part[:-1].split('[', 1)
            index = int(index)
        instances = node.groups.get(name)
        if not instances or index >= len(instances):
            raise SunSpecError(f'no group instance {part} in {node.name}')
        node = instances[index]
    entry = node.points.get(parts[-1])
    if entry is None:
        raise SunSpecError(f'no point {parts[-1]} in {node.name}; known: {", ".join(node.points)}')
    return node, entry
