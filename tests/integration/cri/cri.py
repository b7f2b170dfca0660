#!/usr/bin/env python3
"""A small CRI v1 client for the tests: one call per run, the way the kubelet
makes it, over gRPC on a containerd socket.

    cri.py --sock SOCK --gen DIR METHOD [REQUEST-JSON]

METHOD is a RuntimeService method (RunPodSandbox, CreateContainer, ...);
REQUEST-JSON the request message in protobuf's JSON mapping (default {}).
The response is printed the same way (field names as in the .proto).  On
a gRPC error: "CODE: details" on stderr, exit status 1.

runtime_v1_subset.proto (beside this file) is compiled with protoc into
DIR on first use, so nothing generated is kept in the repository.
"""
import argparse
import fcntl
import importlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = "runtime_v1_subset.proto"


def load_messages(gen):
    """Imports the generated module, compiling the .proto first if needed
    (under a lock: parallel calls share DIR)."""
    os.makedirs(gen, exist_ok=True)
    module = PROTO[: -len(".proto")] + "_pb2"
    target = os.path.join(gen, module + ".py")
    with open(os.path.join(gen, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        src = os.path.join(HERE, PROTO)
        if not os.path.exists(target) or os.path.getmtime(target) < os.path.getmtime(src):
            subprocess.run(["protoc", "-I", HERE, "--python_out", gen, src], check=True)
    sys.path.insert(0, gen)
    return importlib.import_module(module)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sock", required=True, help="containerd's gRPC socket")
    ap.add_argument("--gen", required=True, help="where protoc's output goes")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("method")
    ap.add_argument("request", nargs="?", default="{}")
    a = ap.parse_args()

    pb = load_messages(a.gen)
    import grpc
    from google.protobuf import json_format

    service = pb.DESCRIPTOR.services_by_name["RuntimeService"]
    method = service.methods_by_name.get(a.method)
    if method is None:
        sys.exit("cri.py: unknown method %s (want one of %s)"
                 % (a.method, ", ".join(sorted(service.methods_by_name))))
    req_cls = getattr(pb, method.input_type.name)
    resp_cls = getattr(pb, method.output_type.name)
    req = json_format.Parse(a.request, req_cls())

    with grpc.insecure_channel("unix://" + os.path.abspath(a.sock)) as ch:
        call = ch.unary_unary("/runtime.v1.RuntimeService/" + a.method,
                              request_serializer=req_cls.SerializeToString,
                              response_deserializer=resp_cls.FromString)
        try:
            resp = call(req, timeout=a.timeout)
        except grpc.RpcError as e:
            print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    print(json_format.MessageToJson(resp, preserving_proto_field_name=True, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
