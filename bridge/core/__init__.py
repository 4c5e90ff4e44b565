"""The service: worlds (create, look up, tiles made once), the generation scheduler and the stream loop.

Transport-free: bridge.api adapts it to gRPC and HTTP/WebSocket, and maps its errors.
"""
