#!/usr/bin/python3
"""Independent SunSpec client (pymodbus) that GridMesh's tests use to judge Modbus servers.

Run with Debian's /usr/bin/python3 (the only interpreter that sees python3-pymodbus):

  sunspec_walk.py --port 5020 [--host 127.0.0.1] [--unit 1] walk [--raw]
  sunspec_walk.py --serial /dev/pts/5 --baud 9600 --unit 3 walk
  sunspec_walk.py --port 5021 read --model 802 --point SoC [--instance 0]
  sunspec_walk.py --port 5021 write --model 704 --point WSetEna --value 1 --point WSet --value -3000

Finds the base (40000, 50000, 0, checking 'SunS'), walks the model chain to 0xFFFF, and lays
points out from the SunSpec JSON definitions itself (see sunspec_defs.py). Prints one JSON
document on stdout; on failure prints {"error": ...} on stderr and exits 1.
"""

import argparse
import json
import logging
import sys

import sunspec_defs as defs

try:
    from pymodbus.client import ModbusTcpClient
except ImportError as e:  # pymodbus 3.0 imports pyserial even for TCP, but Debian only recommends it
    sys.stderr.write(json.dumps({'error': f'{e}: run with /usr/bin/python3 and install python3-pymodbus '
                                          'python3-serial python3-serial-asyncio'}) + '\n')
    sys.exit(1)

SUNS = [0x5375, 0x6E53]
BASES = [40000, 50000, 0]
MAX_READ = 125


class PeerError(Exception):
    pass


def connect(args):
    if args.serial:
        from pymodbus.client import ModbusSerialClient
        client = ModbusSerialClient(port=args.serial, baudrate=args.baud, parity=args.parity,
                                    stopbits=1, bytesize=8, timeout=args.timeout, retries=0)
        where = f'{args.serial}@{args.baud}'
    else:
        client = ModbusTcpClient(args.host, port=args.port, timeout=args.timeout, retries=0)
        where = f'{args.host}:{args.port}'
    if not client.connect():
        raise PeerError(f'cannot connect to {where}')
    return client


def read(client, unit, address, count):
    """Holding registers [address, address+count), split into reads of at most 125."""
    out = []
    while count > 0:
        n = min(count, MAX_READ)
        try:
            rr = client.read_holding_registers(address, n, slave=unit)
        except Exception as e:  # pymodbus raises for timeouts and broken connections
            raise PeerError(f'read {n} registers at {address} (unit {unit}): {e}') from e
        if rr is None or rr.isError():
            code = getattr(rr, 'exception_code', None)
            raise PeerError(f'read {n} registers at {address} (unit {unit}): '
                            + (f'exception code {code}' if code is not None else str(rr)))
        if len(rr.registers) != n:
            raise PeerError(f'read {n} registers at {address}: got {len(rr.registers)}')
        out.extend(rr.registers)
        address += n
        count -= n
    return out


def find_base(client, unit, forced=None):
    tried = []
    for base in ([forced] if forced is not None else BASES):
        try:
            regs = read(client, unit, base, 2)
        except PeerError as e:
            tried.append(f'{base}: {e}')
            continue
        if regs == SUNS:
            return base
        tried.append(f'{base}: read {["0x%04X" % r for r in regs]}, not SunS')
    raise PeerError('no SunSpec base found; ' + '; '.join(tried))


def walk_chain(client, unit, base, max_models=64):
    """[(id, header address, L, registers incl. ID and L)] up to the 0xFFFF end marker."""
    models = []
    address = base + 2
    for _ in range(max_models):
        # ID on its own first: some devices do not supply L after the 0xFFFF end marker
        (model_id,) = read(client, unit, address, 1)
        if model_id == 0xFFFF:
            return models, address
        (length,) = read(client, unit, address + 1, 1)
        regs = [model_id, length] + read(client, unit, address + 2, length)
        models.append((model_id, address, length, regs))
        address += 2 + length
    raise PeerError(f'no end marker 0xFFFF after {max_models} models (last header at {address})')


def decode(model_id, address, length, regs, include_raw, models_dir):
    definition = defs.load_model(model_id, models_dir)
    entry = {'id': model_id, 'address': address, 'length': length}
    if definition is None:
        entry['known'] = False
        return entry, None
    warnings = []
    top = defs.layout(definition, regs, warnings)
    entry.update({'known': True, 'name': definition['group']['name']})
    entry.update(defs.node_to_json(top, top, include_raw, address))
    if warnings:
        entry['warnings'] = warnings
    return entry, top


def select(models, model_id, instance):
    matches = [m for m in models if m[0] == model_id]
    if instance >= len(matches):
        raise PeerError(f'model {model_id} instance {instance} not found; chain: {[m[0] for m in models]}')
    return matches[instance]


def cmd_walk(client, args):
    base = find_base(client, args.unit, args.base)
    models, end = walk_chain(client, args.unit, base)
    out = {'base': base, 'unitId': args.unit, 'models': [], 'end': end, 'warnings': []}
    for model_id, address, length, regs in models:
        entry, _ = decode(model_id, address, length, regs, args.raw, args.models_dir)
        out['warnings'].extend(f'model {model_id}: {w}' for w in entry.get('warnings', []))
        out['models'].append(entry)
    return out


def point_json(model_id, path, node, top, entry, address):
    p = entry['def']
    sf = defs.scale_factor(node, top, p.get('sf')) if 'sf' in p else None
    value = defs.scale(entry['raw'], sf) if 'sf' in p else entry['raw']
    return {'model': model_id, 'point': path, 'type': p['type'], 'address': address + entry['offset'],
            'size': entry['size'], 'raw': entry['raw'], 'sf': sf, 'value': value,
            'units': p.get('units')}


def cmd_read(client, args):
    base = find_base(client, args.unit, args.base)
    models, _ = walk_chain(client, args.unit, base)
    model_id, address, length, regs = select(models, args.model, args.instance)
    _, top = decode(model_id, address, length, regs, False, args.models_dir)
    if top is None:
        raise PeerError(f'no definition for model {model_id}')
    results = []
    for path in args.point:
        node, entry = defs.find_point(top, path)
        results.append(point_json(model_id, path, node, top, entry, address))
    return results[0] if len(results) == 1 else results


def cmd_write(client, args):
    if len(args.point) != len(args.value or []):
        raise PeerError('give one --value per --point')
    base = find_base(client, args.unit, args.base)
    models, _ = walk_chain(client, args.unit, base)
    model_id, address, length, regs = select(models, args.model, args.instance)
    _, top = decode(model_id, address, length, regs, False, args.models_dir)
    if top is None:
        raise PeerError(f'no definition for model {model_id}')
    results = []
    for path, text in zip(args.point, args.value):
        node, entry = defs.find_point(top, path)
        p = entry['def']
        if p.get('access') != 'RW' and not args.force:
            raise PeerError(f'model {model_id} point {path} is read-only (access {p.get("access", "R")}); --force to write anyway')
        value = json.loads(text) if p['type'] != 'string' else text
        sf = None
        if args.raw_value or 'sf' not in p:
            raw = value
        else:
            sf = defs.scale_factor(node, top, p['sf'])
            if sf is None:
                raise PeerError(f'model {model_id} point {path}: scale factor {p["sf"]} is not implemented')
            raw = defs.unscale(value, sf)
        words = defs.encode_raw(p['type'], raw, entry['size'])
        target = address + entry['offset']
        try:
            wr = client.write_registers(target, words, slave=args.unit)
        except Exception as e:
            raise PeerError(f'write {words} at {target}: {e}') from e
        if wr is None or wr.isError():
            code = getattr(wr, 'exception_code', None)
            raise PeerError(f'write model {model_id} point {path} at {target}: '
                            + (f'exception code {code}' if code is not None else str(wr)))
        results.append({'model': model_id, 'point': path, 'type': p['type'], 'address': target,
                        'registers': words, 'raw': raw, 'sf': sf, 'value': value})
    return results[0] if len(results) == 1 else results


def main(argv):
    parser = argparse.ArgumentParser(description='independent SunSpec client (pymodbus)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=502)
    parser.add_argument('--serial', help='serial device for Modbus RTU instead of TCP')
    parser.add_argument('--baud', type=int, default=9600)
    parser.add_argument('--parity', default='N', choices=['N', 'E', 'O'])
    parser.add_argument('--unit', type=int, default=1)
    # pymodbus 3.0 truncates the timeout to whole seconds (0 would mean a non-blocking socket)
    parser.add_argument('--timeout', type=int, default=3, help='seconds per request, >= 1')
    parser.add_argument('--base', type=int, help='use this base instead of trying 40000, 50000, 0')
    parser.add_argument('--models-dir', default=None, help=f'SunSpec JSON definitions (default {defs.MODELS_DIR})')
    sub = parser.add_subparsers(dest='command', required=True)
    w = sub.add_parser('walk', help='walk the model chain and decode every point')
    w.add_argument('--raw', action='store_true', help='also print raw value, sf, type and address per point')
    r = sub.add_parser('read', help='read (scaled) points of one model')
    r.add_argument('--model', type=int, required=True)
    r.add_argument('--instance', type=int, default=0, help='which occurrence of the model (0-based)')
    r.add_argument('--point', action='append', required=True, help='WSet, PFWInj.PF or Prt[1].DCW')
    x = sub.add_parser('write', help='write points of one model (engineering units, scale factor applied)')
    x.add_argument('--model', type=int, required=True)
    x.add_argument('--instance', type=int, default=0)
    x.add_argument('--point', action='append', required=True)
    x.add_argument('--value', action='append', help='JSON value in engineering units, one per --point')
    x.add_argument('--raw-value', action='store_true', help='values are raw register values (no scaling)')
    x.add_argument('--force', action='store_true', help='write points that are not RW too')
    args = parser.parse_args(argv)

    if args.timeout < 1:
        parser.error('--timeout must be at least 1 (whole seconds)')
    logging.disable(logging.CRITICAL)  # pymodbus logs its own errors on stderr; ours is the JSON line
    client = None
    try:
        client = connect(args)
        result = {'walk': cmd_walk, 'read': cmd_read, 'write': cmd_write}[args.command](client, args)
    except (PeerError, defs.SunSpecError, ValueError) as e:
        sys.stderr.write(json.dumps({'error': str(e)}) + '\n')
        return 1
    finally:
        if client is not None:
            client.close()
    sys.stdout.write(json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
