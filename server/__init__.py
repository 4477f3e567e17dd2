"""The ASGI server: the WebSocket protocol, the HTTP routes and the side panel's static files."""
