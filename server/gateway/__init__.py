"""The WebSocket gateway: live interview sockets, their protocol, and graceful drain."""
