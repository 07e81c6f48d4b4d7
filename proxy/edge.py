"""Placeholder; replaced by the proxy's ASGI handler."""


class PathDispatcher:
    def __init__(self, *, proxy, fallback):
        self.proxy = proxy
        self.fallback = fallback

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith("/v1/"):
            return await self.proxy(scope, receive, send)
        return await self.fallback(scope, receive, send)


class ProxyApplication:
    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
