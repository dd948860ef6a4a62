# mockverse: the built-in world on port 3000, as a non-root user, its state in /data.
#   docker build -t mockverse .
#   docker run --rm -p 3000:3000 -e MOCKVERSE_ADMIN_TOKEN=change-me mockverse
# Off loopback mockverse needs an admin token (admin writes then need "Authorization: Bearer <token>").
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin mockverse \
    && mkdir /data && chown mockverse /data
USER mockverse
WORKDIR /data
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/api/v1/health', timeout=2)"]
CMD ["mockverse", "serve", "--host", "0.0.0.0", "--port", "3000", "--store", "/data/state.db"]
