"""Replays recorded YouTube responses (tests/data/youtube_recorded.json) into the real
youtube-transcript-api client through a requests transport adapter, so its parsing and error
handling run as they would against YouTube, without the internet. A request that was not
recorded fails the test."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

RECORDED = json.loads((Path(__file__).parent / "data" / "youtube_recorded.json").read_text())


class ReplayAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests.append(f"{request.method} {request.url}")
        url = urlsplit(request.url or "")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status, body, content_type = self._answer(request, url.path, query)
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url, request
        response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        response.headers["Content-Type"] = content_type
        response.encoding = "utf-8"
        return response

    def _answer(self, request: requests.PreparedRequest, path: str, query: dict[str, str]) -> tuple[int, Any, str]:
        videos = RECORDED["videos"]
        if path == "/watch":
            return 200, videos[query["v"]]["watch"], "text/html; charset=utf-8"
        if path == "/youtubei/v1/player":
            assert query["key"] == RECORDED["innertube_key"]
            video_id = json.loads(request.body or b"{}")["videoId"]
            return 200, videos[video_id]["player"], "application/json"
        if path == "/api/timedtext":
            key = query["lang"] + "".join(f"&{k}={query[k]}" for k in ("kind", "tlang") if k in query)
            return 200, videos[query["v"]]["timedtext"][key], "text/xml; charset=UTF-8"
        if path == "/oembed":
            video_id = parse_qs(urlsplit(query["url"]).query)["v"][0]
            data = videos[video_id]["oembed"]
            return (200, data, "application/json") if data else (404, "Not Found", "text/html")
        raise AssertionError(f"unrecorded YouTube request: {request.method} {request.url}")

    def close(self) -> None:
        pass


def replay_session() -> requests.Session:
    """A session whose every request is answered from the recording."""
    session = requests.Session()
    adapter = ReplayAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
