#!/usr/bin/python3
"""Independent Modbus TCP slave for the gas-detector driver tests: pymodbus 3.0 (Debian's
python3-pymodbus; run it with /usr/bin/python3, which has it).

    pymodbus-slave.py PORT UNITS_JSON

UNITS_JSON maps unit ids to their data, from address 0 of each table: either a list of holding
registers, e.g. {"1": [50, 0, 200, 500, 0]}, or the tables by name, e.g.
{"1": {"hr": [0, 0, 2000], "ir": [0, 16828, 2], "co": [false, true], "di": [true]}} (hr holding
registers, ir input registers, co coils, di discrete inputs). A unit has at least 8 coils. Unknown
unit ids get no answer (ignore_missing_slaves), like an absent detector on RS-485. Prints
"READY <port>" once listening. Reads commands on stdin:

    set UNIT ADDRESS VALUE...         write holding registers, answers "ok"
    set-input UNIT ADDRESS VALUE...   write input registers, answers "ok"

and exits when stdin closes (so it never outlives the test that started it).
"""
import asyncio
import json
import sys
import threading

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncTcpServer


def unit_context(data):
    tables = {"hr": data} if isinstance(data, list) else dict(data)
    coils = list(tables.get("co", []))
    tables["co"] = coils + [False] * max(0, 8 - len(coils))
    # A table not given keeps pymodbus' default block.
    blocks = {name: ModbusSequentialDataBlock(0, list(values)) for name, values in tables.items()}
    # zero_mode=True: protocol address N is block index N. pymodbus' default (zero_mode=False)
    # adds 1 to every address, which would shift the whole register map by one.
    return ModbusSlaveContext(**blocks, zero_mode=True)


async def main():
    port = int(sys.argv[1])
    units = json.loads(sys.argv[2])
    context = ModbusServerContext(slaves={int(u): unit_context(w) for u, w in units.items()}, single=False)
    server = await StartAsyncTcpServer(
        context=context, address=("127.0.0.1", port), defer_start=True, ignore_missing_slaves=True
    )
    serving = asyncio.create_task(server.serve_forever())
    await server.serving
    print(f"READY {port}", flush=True)

    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def handle(line):
        parts = line.split()
        if len(parts) >= 4 and parts[0] in ("set", "set-input"):
            unit, address, values = int(parts[1]), int(parts[2]), [int(v) for v in parts[3:]]
            context[unit].setValues(3 if parts[0] == "set" else 4, address, values)  # 3 holding, 4 input
            print("ok", flush=True)
        elif parts:
            print(f"error: unknown command {line.strip()}", flush=True)

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(handle, line)
        loop.call_soon_threadsafe(stdin_closed.set_result, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    await stdin_closed
    await server.shutdown()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
