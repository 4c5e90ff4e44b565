"""The wire, shared by the server's transports and the Python clients: the gRPC stubs generated from
proto/ (``_proto``), conversions between them and the core's types, and the WebSocket's framing.
"""
