# The hub as it is deployed: `hub serve` against the PostgreSQL named by HUB_DATABASE_URL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY schema ./schema
COPY resolvers ./resolvers
COPY auth ./auth
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN groupadd --system hub && useradd --system --gid hub --home-dir /app --shell /usr/sbin/nologin hub
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER hub
ENV HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# Run `hub migrate` once per release (a job of its own) before starting new containers.
CMD ["hub", "serve"]
