"""The CRI's Status call (runtime.v1, verbose): what the running containerd
really uses.  With verbose=true, containerd's CRI answers with its whole
running configuration as JSON under info["config"].

The two messages are declared here with protobuf's descriptor API (no
protoc, no generated code): StatusRequest{bool verbose = 1} and
StatusResponse{map<string, string> info = 2}; the RuntimeStatus field (1)
is skipped as an unknown field.
"""
import json

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_STRING, _BOOL, _MESSAGE = 9, 8, 11
_OPTIONAL, _REPEATED = 1, 3


def _messages():
    f = descriptor_pb2.FileDescriptorProto(name="shmpipe_cri_status.proto",
                                           package="runtime.v1", syntax="proto3")
    req = f.message_type.add(name="StatusRequest")
    req.field.add(name="verbose", number=1, type=_BOOL, label=_OPTIONAL)
    resp = f.message_type.add(name="StatusResponse")
    entry = resp.nested_type.add(name="InfoEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_STRING, label=_OPTIONAL)
    entry.field.add(name="value", number=2, type=_STRING, label=_OPTIONAL)
    resp.field.add(name="info", number=2, type=_MESSAGE, label=_REPEATED,
                   type_name=".runtime.v1.StatusResponse.InfoEntry")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:  # protobuf < 4
        factory = message_factory.MessageFactory(pool)
        get = factory.GetPrototype
    return (get(pool.FindMessageTypeByName("runtime.v1.StatusRequest")),
            get(pool.FindMessageTypeByName("runtime.v1.StatusResponse")))


def running_config(socket, timeout=10.0):
    """The running CRI plugin's config (a dict), or raises OSError with the
    reason in one line."""
    req_cls, resp_cls = _messages()
    with grpc.insecure_channel("unix://" + socket) as ch:
        call = ch.unary_unary("/runtime.v1.RuntimeService/Status",
                              request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=resp_cls.FromString)
        try:
            resp = call(req_cls(verbose=True), timeout=timeout)
        except grpc.RpcError as e:
            raise OSError("containerd's CRI at %s: %s: %s"
                          % (socket, e.code().name, e.details())) from None
    if "config" not in resp.info:
        raise OSError("containerd's CRI at %s: Status gave no config" % socket)
    return json.loads(resp.info["config"])


def runtimes(config):
    """{name: {"type", "spec", "pod", "container"}} of the running CRI
    config (containerd 1.6/1.7 spell some keys with capitals)."""
    rts = (config.get("containerd") or {}).get("runtimes") or {}
    out = {}
    for name, rt in rts.items():
        low = {k.lower(): v for k, v in rt.items()}
        out[name] = {"type": low.get("runtimetype", ""),
                     "spec": low.get("baseruntimespec", ""),
                     "pod": low.get("podannotations") or [],
                     "container": low.get("containerannotations") or []}
    return out
