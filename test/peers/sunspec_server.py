#!/usr/bin/python3
"""Independent Modbus TCP servers (pymodbus) for GridMesh's tests and benchmarks.

Run with Debian's /usr/bin/python3 (the only interpreter that sees python3-pymodbus):

  sunspec_server.py sunspec [--port 0] [--base 50000] [--unit 1] [--models 1,103,160,714,704,802,203]
                            [--instances 2] [--set 103.W=1234.5 ...] [--max-clients N] [--watch-stdin]
  sunspec_server.py describe [same options]   # the image's layout and values, without serving
  sunspec_server.py plain [--port 0] [--address 40000] [--count 200] [--watch-stdin]

`sunspec` serves a SunSpec register image built here from the SunSpec JSON definitions (not from
GridMesh's simulator): 'SunS' at the base, the models, then 0xFFFF 0. Values are given in
engineering units (DEFAULT_VALUES, overridable with --set MODEL.PATH=JSON, null = not
implemented); each is encoded with its scale factor. Repeating groups (160 `module`, 714 `Prt`,
803 `string`, ...) get --instances instances. Only --unit answers; requests to other unit IDs
get no reply (pymodbus 3.0), so clients see a timeout. Registers outside the image answer
exception 2 (illegal data address). Writes are stored as sent, read-only points included.
--max-clients N closes any connection beyond N at once, as small devices that allow one TCP
client do.

`plain` serves --count holding registers from --address (register i holds i & 0xFFFF) to any
unit ID: the pymodbus baseline of bench/modbus-server.bench.ts.

When listening, prints one line {"event":"ready","port":N,...} on stdout. --watch-stdin exits when
stdin closes, so a parent that dies cannot leak the server.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import threading

import sunspec_defs as defs

DEFAULT_VALUES = {
    1: {'Mn': 'GridMesh Peers', 'Md': 'pymodbus SunSpec image', 'Opt': 'peer', 'Vr': '1.0.0',
        'SN': 'PEER-0001'},
    103: {'A': 10.5, 'AphA': 3.5, 'AphB': 3.5, 'AphC': 3.5, 'A_SF': -2,
          'PPVphAB': 400.1, 'PPVphBC': 400.2, 'PPVphCA': 399.9, 'PhVphA': 230.1, 'PhVphB': 230.2,
          'PhVphC': 229.9, 'V_SF': -1, 'W': 2412.3, 'W_SF': -1, 'Hz': 50.01, 'Hz_SF': -2,
          'VA': 2450, 'VA_SF': 0, 'VAr': None, 'PF': 98.5, 'PF_SF': -1, 'WH': 123456000, 'WH_SF': 3,
          'DCA': 6.5, 'DCA_SF': -2, 'DCV': 380.5, 'DCV_SF': -1, 'DCW': 2480, 'DCW_SF': 0,
          'TmpCab': 41.5, 'Tmp_SF': -1, 'St': 4, 'Evt1': 0},
    # float models (not in the default chain: --models 1,113,213); values exact in float32
    113: {'A': 10.5, 'AphA': 3.5, 'AphB': 3.5, 'AphC': 3.5, 'PhVphA': 230.25, 'PhVphB': 230.5, 'PhVphC': 229.75,
          'W': 2412.5, 'Hz': 50.0, 'VA': 2450.0, 'VAr': None, 'PF': 98.5, 'WH': 123456.0, 'DCA': 6.5,
          'DCV': 380.5, 'DCW': 2480.0, 'TmpCab': 41.5, 'St': 4, 'Evt1': 0},
    213: {'A': 12.5, 'AphA': 4.5, 'AphB': 4.0, 'AphC': 4.0, 'PhV': 230.5, 'PhVphA': 230.25, 'PhVphB': 230.5,
          'PhVphC': 230.75, 'Hz': 49.875, 'W': -1500.0, 'WphA': -500.0, 'WphB': -500.0, 'WphC': -500.0,
          'VA': 1620.0, 'PF': -0.875, 'TotWhExp': 7654321.0, 'TotWhImp': 1234567.0, 'Evt': 0},
    120: {'DERTyp': 4, 'WRtg': 8000, 'WRtg_SF': 0, 'VARtg': 8000, 'VARtg_SF': 0},
    160: {'DCA_SF': -2, 'DCV_SF': -1, 'DCW_SF': 0, 'DCWH_SF': 0, 'Evt': 0,
          'module[0].ID': 1, 'module[0].IDStr': 'string A', 'module[0].DCA': 3.25, 'module[0].DCV': 381.5,
          'module[0].DCW': 1240, 'module[0].DCWH': 5000, 'module[0].Tmp': 38, 'module[0].DCSt': 4,
          'module[1].ID': 2, 'module[1].IDStr': 'string B', 'module[1].DCA': 3.25, 'module[1].DCV': 379.5,
          'module[1].DCW': 1240, 'module[1].DCWH': 4100, 'module[1].Tmp': 37, 'module[1].DCSt': 4},
    714: {'PrtAlrms': 0, 'DCA': 2.5, 'DCW': 980, 'DCWhInj': 9100, 'DCWhAbs': 300,
          'DCA_SF': -2, 'DCV_SF': -1, 'DCW_SF': 0, 'DCWH_SF': 0, 'Tmp_SF': -1,
          'Prt[0].PrtTyp': 0, 'Prt[0].ID': 1, 'Prt[0].IDStr': 'pv-a', 'Prt[0].DCA': 3.25,
          'Prt[0].DCV': 381.5, 'Prt[0].DCW': 1240, 'Prt[0].DCWhInj': 9100, 'Prt[0].Tmp': 38.5,
          'Prt[0].DCSta': 1,
          'Prt[1].PrtTyp': 1, 'Prt[1].ID': 2, 'Prt[1].IDStr': 'ess-1', 'Prt[1].DCA': -0.75,
          'Prt[1].DCV': 346.7, 'Prt[1].DCW': -260, 'Prt[1].DCWhAbs': 300, 'Prt[1].Tmp': 24.0,
          'Prt[1].DCSta': 1},
    704: {'WMaxLimPctEna': 0, 'WMaxLimPct': 100, 'WMaxLimPct_SF': 0, 'WSetEna': 0, 'WSetMod': 1,
          'WSet': 0, 'WSetRvrt': 0, 'WSet_SF': 0, 'WSetPct': 0, 'WSetPct_SF': -1, 'WSetRvrtTms': 0,
          'PF_SF': -3},
    713: {'WHRtg': 13500, 'WHAvail': 6210, 'SoC': 46.0, 'SoH': 98.0, 'Sta': 1, 'WH_SF': 0, 'Pct_SF': -1},
    802: {'AHRtg': 270, 'AHRtg_SF': 0, 'WHRtg': 13500, 'WHRtg_SF': 0, 'WChaRteMax': 5000,
          'WDisChaRteMax': 5000, 'WChaDisChaMax_SF': 0, 'SoCMax': 100, 'SoCMin': 5, 'SoC': 46.3,
          'SoC_SF': -1, 'SoH': 98, 'SoH_SF': 0, 'ChaSt': 3, 'State': 3, 'V': 346.7, 'V_SF': -1,
          'A': -0.75, 'A_SF': -2, 'W': -260, 'W_SF': 0, 'CtrlHb': 0, 'Typ': 4},
    203: {'A': 12.5, 'AphA': 4.5, 'AphB': 4.0, 'AphC': 4.0, 'A_SF': -1,
          'PhV': 230.4, 'PhVphA': 230.1, 'PhVphB': 230.5, 'PhVphC': 230.6, 'V_SF': -1,
          'Hz': 50.0, 'Hz_SF': -2, 'W': -1500, 'WphA': -500, 'WphB': -500, 'WphC': -500, 'W_SF': 0,
          'VA': 1620, 'VA_SF': 0, 'PF': -92.6, 'PF_SF': -1,
          'TotWhExp': 7654321, 'TotWhImp': 1234567, 'TotWh_SF': 0, 'Evt': 0},
}


def parse_set(items):
    """--set MODEL.PATH=JSON -> {model: {path: value}}"""
    out = {}
    for item in items or []:
        key, _, text = item.partition('=')
        model, _, path = key.partition('.')
        if not text or not path:
            raise SystemExit(f'--set {item}: expected MODEL.PATH=JSON, e.g. 103.W=1500')
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        out.setdefault(int(model), {})[path] = value
    return out


def plan_model(model_id, instances):
    """[(path, point def, scope prefix)] for one model with `instances` per repeating group."""
    definition = defs.load_model(model_id)
    if definition is None:
        raise SystemExit(f'no SunSpec definition for model {model_id} in {defs.MODELS_DIR}')
    slots = []
    counts = {}

    def place(group, prefix):
        for p in group.get('points', []):
            slots.append((prefix + p['name'], p, prefix))
        for sub in group.get('groups', []):
            count = sub.get('count', 1)
            if isinstance(count, str) or count == 0:
                if isinstance(count, str):
                    counts[prefix + count if any(q['name'] == count for q in group.get('points', [])) else count] = instances
                count = instances
            for i in range(count):
                place(sub, f"{prefix}{sub['name']}[{i}]." if count > 1 or sub.get('count') not in (None, 1) else f"{prefix}{sub['name']}.")

    place(definition['group'], '')
    return definition, slots, counts


def build_model(model_id, values, instances, unit):
    """(registers incl. ID and L, {path: engineering value as served})"""
    definition, slots, counts = plan_model(model_id, instances)
    names = {path for path, _, _ in slots}
    for path in values:
        if path not in names:
            raise SystemExit(f'model {model_id}: no point {path}; points: {", ".join(sorted(names))}')

    def sf_path(prefix, sf):
        return prefix + sf if prefix + sf in names else sf

    # a scale factor without a value is 0 when some point using it has a value, else not implemented
    sfs = {path: values.get(path) for path, p, _ in slots if p['type'] == 'sunssf'}
    for path, p, prefix in slots:
        if isinstance(p.get('sf'), str) and values.get(path) is not None:
            key = sf_path(prefix, p['sf'])
            if sfs.get(key) is None:
                sfs[key] = 0
    length = sum(defs.point_size(p) for _, p, _ in slots) - 2
    regs, served = [], {}
    for path, p, prefix in slots:
        size = defs.point_size(p)
        if path == 'ID':
            raw = model_id
        elif path == 'L':
            raw = length
        elif path in counts:
            raw = counts[path]
        elif p['type'] == 'count' and values.get(path) is None:
            raw = instances  # e.g. 160 `N`: the number of `module` instances
        elif p['type'] == 'sunssf':
            raw = sfs.get(path)
        elif model_id == 1 and path == 'DA':
            raw = unit
        else:
            value = values.get(path)
            sf = p.get('sf')
            if isinstance(sf, str):
                sf = sfs.get(sf_path(prefix, sf))
            raw = defs.unscale(value, sf or 0) if value is not None and 'sf' in p and p['type'] != 'string' else value
        regs.extend(defs.encode_raw(p['type'], raw, size))
        if p['type'] != 'pad':
            decoded = defs.decode_raw(p['type'], regs[-size:])
            sf = p.get('sf')
            if isinstance(sf, str):
                sf = sfs.get(sf_path(prefix, sf))
            served[path] = defs.scale(decoded, sf) if 'sf' in p else decoded
    assert len(regs) == length + 2
    return regs, served


def build_image(args):
    overrides = parse_set(args.set)
    image = list(defs.encode_raw('string', 'SunS', 2))
    models = []
    for model_id in args.models:
        values = dict(DEFAULT_VALUES.get(model_id, {}))
        values.update(overrides.get(model_id, {}))
        # drop defaults for repeating-group instances that do not exist with fewer instances
        values = {k: v for k, v in values.items() if not _beyond(k, args.instances)}
        regs, served = build_model(model_id, values, args.instances, args.unit)
        models.append({'id': model_id, 'address': args.base + len(image), 'length': len(regs) - 2,
                       'values': served})
        image.extend(regs)
    models_end = args.base + len(image)
    image.extend([0xFFFF, 0])
    return image, models, models_end


def _beyond(path, instances):
    for part in path.split('.')[:-1]:
        if part.endswith(']') and int(part[part.index('[') + 1:-1]) >= instances:
            return True
    return False


def watch_stdin():
    def run():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)
    threading.Thread(target=run, daemon=True).start()


async def serve(args, blocks, ready):
    try:
        from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
        from pymodbus.server.async_io import ModbusConnectedRequestHandler, ModbusTcpServer
    except ImportError as e:  # pymodbus 3.0 imports pyserial even for TCP, but Debian only recommends it
        raise SystemExit(json.dumps({'error': f'{e}: run with /usr/bin/python3 and install python3-pymodbus '
                                              'python3-serial python3-serial-asyncio'}))

    address, values = blocks
    empty = ModbusSequentialDataBlock(0, [0])
    slave = ModbusSlaveContext(di=empty, co=empty, ir=empty,
                               hr=ModbusSequentialDataBlock(address, values), zero_mode=True)
    if args.command == 'plain':
        context = ModbusServerContext(slaves=slave, single=True)
    else:
        context = ModbusServerContext(slaves={args.unit: slave}, single=False)
    max_clients = getattr(args, 'max_clients', None)

    class LimitedHandler(ModbusConnectedRequestHandler):
        refused = False

        def connection_made(self, transport):
            if max_clients is not None and len(self.server.active_connections) >= max_clients:
                self.refused = True
                transport.close()
                return
            super().connection_made(transport)

        def connection_lost(self, call_exc):
            if not self.refused:
                super().connection_lost(call_exc)

        def data_received(self, data):
            if not self.refused:
                super().data_received(data)

    server = ModbusTcpServer(context, address=(args.host, args.port), allow_reuse_address=True,
                             handler=LimitedHandler if max_clients is not None else None)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({'event': 'ready', 'host': args.host, 'port': port, **ready}) + '\n')
    sys.stdout.flush()
    await task


def main(argv):
    parser = argparse.ArgumentParser(description='independent pymodbus servers for GridMesh tests')
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('sunspec', 'describe', 'plain'):
        p = sub.add_parser(name)
        p.add_argument('--host', default='127.0.0.1')
        p.add_argument('--port', type=int, default=0)
        p.add_argument('--watch-stdin', action='store_true')
        if name == 'plain':
            p.add_argument('--address', type=int, default=40000)
            p.add_argument('--count', type=int, default=200)
        else:
            p.add_argument('--base', type=int, default=50000)
            p.add_argument('--unit', type=int, default=1)
            p.add_argument('--models', default='1,103,160,714,704,802,203')
            p.add_argument('--instances', type=int, default=2, help='instances of each repeating group')
            p.add_argument('--set', action='append', help='MODEL.PATH=JSON engineering value (null = not implemented)')
            p.add_argument('--max-clients', type=int, help='close connections beyond this many at once')
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    if args.watch_stdin:
        watch_stdin()

    if args.command == 'plain':
        blocks = (args.address, [i & 0xFFFF for i in range(args.address, args.address + args.count)])
        ready = {'mode': 'plain', 'address': args.address, 'count': args.count}
    else:
        args.models = [int(m) for m in args.models.split(',') if m]
        if not args.models or args.models[0] != 1:
            raise SystemExit('--models must start with 1 (the common model)')
        image, models, end = build_image(args)
        info = {'base': args.base, 'unitId': args.unit, 'end': end,
                'models': [{k: m[k] for k in ('id', 'address', 'length')} for m in models]}
        if args.command == 'describe':
            info['models'] = models
            sys.stdout.write(json.dumps(info) + '\n')
            return 0
        blocks = (args.base, image)
        ready = {'mode': 'sunspec', **info}
    try:
        asyncio.run(serve(args, blocks, ready))
    except KeyboardInterrupt:
        pass
    except OSError as e:
        sys.stderr.write(json.dumps({'error': f'cannot listen on {args.host}:{args.port}: {e}'}) + '\n')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
